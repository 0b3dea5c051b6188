using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// The tests' sign-up and sign-in helpers (<see cref="Browser.SubmitPastBusyAsync"/>) post again when the password
/// bulkhead refuses for load (503 with Retry-After), a bounded number of times, and give up with the 503 itself: against a
/// real Kestrel server that answers busy as the portal does.
/// </summary>
[Trait("Issue", "18")]
public sealed class BrowserBusyRetryTests
{
    // A form page, and a post that is refused busy (Retry-After: retryAfter, or none when null) the first `busy` times.
    private static async Task<(WebApplication App, Func<int> Posts)> StartAsync(int busy, string? retryAfter)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var posts = 0;
        app.MapGet("/login", () => Results.Content("<input type=\"hidden\" name=\"__RequestVerificationToken\" value=\"t\" />", "text/html"));
        app.MapPost("/login", context =>
        {
            if (Interlocked.Increment(ref posts) <= busy)
            {
                if (retryAfter is not null)
                {
                    context.Response.Headers.RetryAfter = retryAfter;
                }

                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return Task.CompletedTask;
            }

            context.Response.Redirect("/apps");
            return Task.CompletedTask;
        });
        await app.StartAsync();
        return (app, () => Volatile.Read(ref posts));
    }

    [Theory]
    [InlineData(2, "1", HttpStatusCode.Redirect, 3)]
    [InlineData(100, "0", HttpStatusCode.ServiceUnavailable, Browser.BusyAttempts)]
    [InlineData(100, null, HttpStatusCode.ServiceUnavailable, 1)]
    public async Task ABusyAnswer_IsPostedAgain_AFewTimes_OnlyWhenItSaysWhenToComeBack(int busy, string? retryAfter, HttpStatusCode last, int posted)
    {
        var (app, posts) = await StartAsync(busy, retryAfter);
        await using var _ = app;
        using var browser = new Browser(app.Urls.First());
        using var answer = await browser.SubmitPastBusyAsync("/login", "/login", ("email", "a@example.com"), ("password", "p"));
        Assert.Equal((last, posted), (answer.StatusCode, posts()));
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, "2", 2.0)]
    [InlineData(HttpStatusCode.ServiceUnavailable, "120", 3.0)]
    [InlineData(HttpStatusCode.ServiceUnavailable, null, null)]
    [InlineData(HttpStatusCode.TooManyRequests, "2", null)]
    public void TheWait_IsRetryAfter_CappedAtAFewSeconds(HttpStatusCode status, string? retryAfter, double? seconds)
    {
        using var response = new HttpResponseMessage(status);
        if (retryAfter is not null)
        {
            response.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
        }

        Assert.Equal(seconds, Browser.BusyWait(response, DateTimeOffset.UtcNow)?.TotalSeconds);
        // A date in the past is "now", one far ahead the cap.
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(DateTimeOffset.UtcNow.AddHours(1));
        Assert.Equal(status == HttpStatusCode.ServiceUnavailable ? 3.0 : null, Browser.BusyWait(response, DateTimeOffset.UtcNow)?.TotalSeconds);
    }
}
