using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary><c>name</c> says which header, cookie or query parameter is hashed; the other sources have no name.</summary>
internal sealed class HashRules : BindingRules<HashConfig>
{
    protected override HashConfig? Check(HashConfig hash, BindingScope scope)
    {
        var named = hash.On is HashSource.Header or HashSource.Cookie or HashSource.Query;
        var on = hash.On switch
        {
            HashSource.ClientIp => "clientIp",
            HashSource.Header => "header",
            HashSource.Cookie => "cookie",
            HashSource.Query => "query",
            HashSource.Application => "application",
            _ => "path",
        };
        if (named && hash.Name is null && !scope.Failed("name"))
        {
            scope.Error("name", $"'on: {on}' hashes the {on} named by 'name'; add e.g. 'name: {(hash.On == HashSource.Header ? "X-User-Id" : "session")}'.");
            return null;
        }

        if (!named && scope.Has("name"))
        {
            scope.Error("name", $"'on: {on}' hashes no named value; remove 'name', or use 'on: header', 'cookie' or 'query'.");
            return null;
        }

        return hash;
    }
}
