namespace Gatehouse.Model.Compositions;

/// <summary>
/// What a record computes from one of its own members (the source) when it is made. It takes no part in the record's
/// equality (any two are equal, default included: the member it comes from is already compared) nor in its text, and
/// is given only for the very member it was made from, so a copy made with <c>with</c> and another source gets none.
/// </summary>
internal readonly struct Derived<TSource, T>(TSource? source, T value) : IEquatable<Derived<TSource, T>>
    where TSource : class
{
    /// <summary>The value when <paramref name="current"/> is the member it was made from; else default.</summary>
    public T? For(TSource? current) => current is not null && ReferenceEquals(current, source) ? value : default;

    public bool Equals(Derived<TSource, T> other) => true;

    public override bool Equals(object? obj) => obj is Derived<TSource, T>;

    public override int GetHashCode() => 0;
}
