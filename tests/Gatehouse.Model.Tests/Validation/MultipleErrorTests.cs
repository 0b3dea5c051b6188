using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Validation;

/// <summary>One load reports every mistake in the document, from binding and validation alike.</summary>
public sealed class MultipleErrorTests
{
    [Fact]
    public void Document_WithManyMistakes_ReportsEveryOne()
    {
        var result = ConfigText.Load("""
            version: 1
            gateway:
              listners: []
              trustedProxies: [proxy.internal]
              drainTimeout: forever
            services:
              users:
                targets:
                  - http://0.0.0.0:5001
                  - url: http://10.0.0.1:5001
                    weight: -1
                loadBalancing: random
              orders:
                targets: [http://10.0.0.2:5002?debug=1]
            routes:
              getUser:
                path: /users/{id}
                service: user
              getUserAgain:
                path: /USERS/{name}
                service: users
              badPath:
                path: files/{**rest}/x
                service: orders
            """);

        Assert.Equal(
            [
                "gateway.listners",
                "gateway.drainTimeout",
                "services.users.targets[1].weight",
                "services.users.loadBalancing",
                "gateway.trustedProxies[0]",
                "services.users.targets[0].url",
                "services.orders.targets[0].url",
                "routes.getUser.service",
                "routes.getUserAgain.path",
                "routes.badPath.path",
            ],
            result.Errors.Select(e => e.Path));
        Assert.Null(result.Config);
        Assert.False(result.IsValid);
        Assert.All(result.Errors, e => Assert.Matches("[.?]$", e.Message));
    }

    [Fact]
    public void Document_BindingErrorsInSeveralRoutes_ReportsEveryRoute()
    {
        var result = ConfigText.Load(ConfigText.WithRoutes("""
            a:
              path: /a
            b:
              service: users
            c:
              path: /c
              service: users
              timout: 5s
            """));

        Assert.Equal(["routes.a.service", "routes.b.path", "routes.c.timout"], result.Errors.Select(e => e.Path));
    }
}
