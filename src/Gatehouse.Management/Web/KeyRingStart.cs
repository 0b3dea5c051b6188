using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Management.Web;

/// <summary>
/// Starts a site whose cookies are signed with keys kept in the store (the admin console, the portal) on a thread-pool
/// thread. Data Protection reads its key ring synchronously while the host starts (<see cref="StoreKeyRepository"/>
/// blocks on the store), and with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 (Program.cs) the code that starts the
/// site may itself be running on a socket event-loop thread: the continuation of an earlier store read completes there.
/// Blocked on that thread, it waited for a store answer that only that thread could deliver, and the start hung for good
/// (seen in CI: "still starting … starting the node API and the admin API", a stack with the key-ring read on
/// SocketAsyncEngine's completion).
/// </summary>
internal static class KeyRingStart
{
    public static Task StartAsync(WebApplication app, CancellationToken cancellationToken) =>
        Task.Run(() => app.StartAsync(cancellationToken), cancellationToken);
}
