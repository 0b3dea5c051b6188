namespace Gatehouse.Gateway.Routing;

/// <summary>
/// The captured parameter values of a match, as ranges into the request path. A value type with room for
/// <see cref="MaxParameters"/> captures so matching allocates nothing.
/// </summary>
internal struct RouteCaptures
{
    /// <summary>Most parameters a route path may have (checked when routes are compiled).</summary>
    public const int MaxParameters = 8;

    private CaptureBuffer _buffer;

    public int Count { get; private set; }

    public readonly Range this[int index] => _buffer[index];

    public void Push(Range range) => _buffer[Count++] = range;

    public void Pop() => Count--;

    [System.Runtime.CompilerServices.InlineArray(MaxParameters)]
    private struct CaptureBuffer
    {
        private Range _element;
    }
}

/// <summary>Outcome of matching a request against a route table.</summary>
internal enum MatchOutcome
{
    Matched,
    NoRoute,
    MethodNotAllowed,
}
