namespace Gatehouse.Model.Compositions;

/// <summary>What a <see cref="ConversionTemplate"/> makes of its value.</summary>
public enum ValueConversion
{
    /// <summary>A number: a number as it is, a string that is a number (<c>"12"</c>, <c>"1.5"</c>) as that number; anything else null.</summary>
    Number,
    /// <summary>A string: a string as it is, a number or boolean as its JSON text; anything else null.</summary>
    String,
}
