namespace Gatehouse.Management.Stores;

/// <summary>The store cannot be opened or used as asked; the message says what to do.</summary>
public sealed class ConfigStoreException : Exception
{
    public ConfigStoreException(string message)
        : base(message)
    {
    }

    public ConfigStoreException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
