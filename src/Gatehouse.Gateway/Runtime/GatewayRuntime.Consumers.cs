using Gatehouse.Gateway.Access;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Gateway.Runtime;

// Portal applications: beside the snapshots, never recompiled with them.
internal sealed partial class GatewayRuntime
{
    /// <summary>The applications made in the developer portal; the store's follower feeds it (docs/portal.md).</summary>
    public IConsumerSink Consumers => Engine.Consumers;
}
