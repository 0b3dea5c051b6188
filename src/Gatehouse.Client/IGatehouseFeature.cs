namespace Gatehouse.Client;

/// <summary>Who the gateway says is calling; set on <c>HttpContext.Features</c> for every request it allowed.</summary>
public interface IGatehouseFeature
{
    /// <summary>The operation the request was authorized for.</summary>
    string Operation { get; }

    /// <summary>The application (what the proxy sends as <c>Gatehouse-Application</c>); null for an anonymous caller.</summary>
    string? Application { get; }

    /// <summary>The plan (what the proxy sends as <c>Gatehouse-Plan</c>).</summary>
    string? Plan { get; }
}

internal sealed record GatehouseFeature(string Operation, string? Application, string? Plan) : IGatehouseFeature;
