using Gatehouse.Model.Routing;

namespace Gatehouse.Model.Tests.Routing;

public sealed class PathTemplateTests
{
    [Theory]
    [InlineData("/users/{id}", "/USERS/{name}")]
    [InlineData("/users/{id}", "/users/{id}/")]
    [InlineData("/Files/{**rest}", "/files/{**path}")]
    [InlineData("/a/{x}/b/{y}", "/A/{p}/B/{q}/")]
    [InlineData("/", "/")]
    public void ShapeKey_SameShape_IsEqual(string a, string b)
    {
        Assert.Equal(Parse(a).ShapeKey, Parse(b).ShapeKey);
    }

    [Theory]
    [InlineData("/users/{id}", "/users/me")]
    [InlineData("/users/{id}", "/users/{**rest}")]
    [InlineData("/users", "/users/{**rest}")]
    [InlineData("/users/{id}", "/users/{id}/orders")]
    [InlineData("/users/{id}", "/orders/{id}")]
    [InlineData("/", "/{id}")]
    public void ShapeKey_DifferentShape_IsNotEqual(string a, string b)
    {
        Assert.NotEqual(Parse(a).ShapeKey, Parse(b).ShapeKey);
    }

    [Fact]
    public void Segments_MixedTemplate_AreParsedInOrder()
    {
        var t = Parse("/users/{id}/files/{**path}");

        Assert.Equal(
            [
                new TemplateSegment(SegmentKind.Literal, "users"),
                new TemplateSegment(SegmentKind.Parameter, "id"),
                new TemplateSegment(SegmentKind.Literal, "files"),
                new TemplateSegment(SegmentKind.CatchAll, "path"),
            ],
            t.Segments);
        Assert.True(t.HasCatchAll);
        Assert.Equal("/users/{id}/files/{**path}", t.Text);
    }

    [Fact]
    public void ParameterNames_IncludeTheCatchAll_InOrder()
    {
        Assert.Equal(["tenant", "id", "rest"], Parse("/t/{tenant}/u/{id}/{**rest}").ParameterNames);
    }

    [Fact]
    public void ParameterNames_NoParameters_IsEmpty()
    {
        var t = Parse("/health");

        Assert.Empty(t.ParameterNames);
        Assert.False(t.HasCatchAll);
    }

    [Fact]
    public void TrailingSlash_IsInsignificant()
    {
        var withSlash = Parse("/users/");

        Assert.Equal(Parse("/users").Segments, withSlash.Segments);
        Assert.Equal("/users/", withSlash.Text);
    }

    [Fact]
    public void Root_HasNoSegments()
    {
        var root = Parse("/");

        Assert.Empty(root.Segments);
        Assert.Equal("", root.ShapeKey);
    }

    [Fact]
    public void CatchAll_FollowedByTrailingSlash_IsStillLast()
    {
        // The trailing slash is insignificant everywhere else, so it must not make a catch-all "not last".
        var t = Parse("/files/{**rest}/");

        Assert.True(t.HasCatchAll);
        Assert.Equal(Parse("/files/{**rest}").ShapeKey, t.ShapeKey);
    }

    [Theory]
    [InlineData("", "must start with '/'")]
    [InlineData("users", "must start with '/'")]
    [InlineData("//", "empty segment")]
    [InlineData("/a//b", "empty segment")]
    [InlineData("/users//", "empty segment")]
    [InlineData("/users/{id", "does not close it")]
    [InlineData("/users/{", "does not close it")]
    [InlineData("/users/id}", "mixes text and a parameter")]
    [InlineData("/users/v{id}", "mixes text and a parameter")]
    [InlineData("/users/{id}.json", "mixes text and a parameter")]
    [InlineData("/users/{}", "has no name")]
    [InlineData("/users/{**}", "has no name")]
    [InlineData("/users/{1d}", "must be letters, digits or '_' and start with a letter")]
    [InlineData("/users/{user-id}", "must be letters, digits or '_' and start with a letter")]
    [InlineData("/files/{**rest}/meta", "must be the last segment")]
    [InlineData("/a/{id}/b/{id}", "appears twice")]
    [InlineData("/a/{id}/{**ID}", "appears twice")]
    [InlineData("/a/./b", "dot segments")]
    [InlineData("/a/..", "dot segments")]
    [InlineData("/a%2Fb", "'%'")]
    [InlineData("/a\\b", "'\\'")]
    [InlineData("/a?b=1", "'?'")]
    [InlineData("/a#b", "'#'")]
    public void TryParse_Invalid_ReturnsNullAndSaysWhy(string text, string expected)
    {
        var t = PathTemplate.TryParse(text, out var error);

        Assert.Null(t);
        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_Valid_HasNoError()
    {
        var t = PathTemplate.TryParse("/v1/users/{user_id}/avatar.png", out var error);

        Assert.NotNull(t);
        Assert.Null(error);
        Assert.Equal("user_id", Assert.Single(t.ParameterNames));
    }

    private static PathTemplate Parse(string text)
    {
        var t = PathTemplate.TryParse(text, out var error);
        Assert.True(t is not null, error);
        return t;
    }
}
