namespace Gatehouse.Model.Config;

/// <summary>Whether a limit refuses requests or only reports that it would.</summary>
public enum LimitMode
{
    /// <summary>Requests over the limit are answered 429.</summary>
    Enforce,

    /// <summary>Requests over the limit are decided, counted and logged as "would deny", and let through.</summary>
    Shadow,
}
