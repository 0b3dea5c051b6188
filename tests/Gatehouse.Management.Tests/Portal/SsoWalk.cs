using System.Net;
using System.Text.RegularExpressions;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>Single sign-on walked as a browser would, with HTTP requests: the site, the provider's pages, and back.</summary>
internal static partial class SsoWalk
{
    /// <summary>
    /// Goes through single sign-on as a browser would, from <paramref name="start"/> on the site (the console, or the portal with <paramref name="root"/> empty): to the provider, its
    /// sign-in page (as <paramref name="login"/>), its consent page, and back, following every redirect. Answers the
    /// console's first answer that is not a step of that: a redirect into the site, or a page.
    /// Give <paramref name="cancel"/> to leave at the provider's sign-in page instead ("abort").
    /// </summary>
    public static async Task<HttpResponseMessage> SignInAsync(Browser browser, string login, string start = "/console/sso", bool cancel = false, string root = "/console")
    {
        var site = browser.Client.BaseAddress!;
        var next = new Uri(site, start);
        HttpResponseMessage? post = null;
        for (var hop = 0; hop < 20; hop++)
        {
            var response = post ?? await browser.Client.GetAsync(next);
            post = null;
            var onSite = response.RequestMessage!.RequestUri!.Port == site.Port;
            if (response.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect)
            {
                var location = new Uri(response.RequestMessage.RequestUri, response.Headers.Location!);
                var intoSiteAfterSso = onSite && location.Port == site.Port && !location.AbsolutePath.StartsWith(root + "/sso", StringComparison.Ordinal);
                if (intoSiteAfterSso)
                {
                    return response;
                }

                response.Dispose();
                next = location;
                continue;
            }

            if (onSite)
            {
                return response;
            }

            // A page of the provider's: its sign-in form, or its consent form.
            var page = await response.Content.ReadAsStringAsync();
            var at = response.RequestMessage.RequestUri;
            response.Dispose();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"the provider answered {response.StatusCode} at {at}: {page}");
            var action = new Uri(at, WebUtility.HtmlDecode(FormAction().Match(page).Groups[1].Value));
            if (page.Contains("name=\"login\"", StringComparison.Ordinal))
            {
                if (cancel)
                {
                    next = new Uri(at, WebUtility.HtmlDecode(AbortLink().Match(page).Groups[1].Value));
                    continue;
                }

                post = await browser.Client.PostAsync(action, new FormUrlEncodedContent([new("prompt", "login"), new("login", login), new("password", "any password")]));
            }
            else
            {
                post = await browser.Client.PostAsync(action, new FormUrlEncodedContent([new("prompt", "consent")]));
            }
        }

        throw new InvalidOperationException("single sign-on did not come back to the console within 20 steps");
    }

    [GeneratedRegex("<form[^>]*action=\"([^\"]+)\"")]
    private static partial Regex FormAction();

    [GeneratedRegex("href=\"([^\"]*/abort)\"")]
    private static partial Regex AbortLink();
}
