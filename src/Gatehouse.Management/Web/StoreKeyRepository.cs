using System.Xml.Linq;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Gatehouse.Management.Web;

/// <summary>
/// Keeps ASP.NET Core Data Protection's keys (which sign the session and antiforgery cookies) in the store's settings,
/// so every control-plane node sharing the store accepts the others' cookies and a restart keeps sessions. Written by
/// hand because the framework ships file, registry and Entity Framework repositories only, and this store is neither.
/// The interface is synchronous; it is called at start and when a key is made (every 90 days), never per request.
/// </summary>
internal sealed class StoreKeyRepository(IConfigStore store, string setting) : IXmlRepository
{
    private readonly Lock _gate = new();

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        var text = store.GetSettingAsync(setting).GetAwaiter().GetResult();
        return text is null ? [] : [.. XElement.Parse(text).Elements()];
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_gate)
        {
            var text = store.GetSettingAsync(setting).GetAwaiter().GetResult();
            var root = text is null ? new XElement("keys") : XElement.Parse(text);
            root.Add(element);
            store.SetSettingAsync(setting, root.ToString(SaveOptions.DisableFormatting)).GetAwaiter().GetResult();
        }
    }
}
