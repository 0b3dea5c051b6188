using Gatehouse.Model.Text;

namespace Gatehouse.Model.Tests.Support;

[Trait("Issue", "24")]
public sealed class PluralTests
{
    [Theory]
    [InlineData(0, "service", "0 services")]
    [InlineData(1, "service", "1 service")]
    [InlineData(2, "second", "2 seconds")]
    [InlineData(1, "entry", "1 entry")]
    public void Count_IsSingularForOneOnly(long n, string noun, string expected) => Assert.Equal(expected, Plural.Count(n, noun));

    [Fact]
    public void Count_TakesAnIrregularPlural() => Assert.Equal("3 entries", Plural.Count(3, "entry", "entries"));
}
