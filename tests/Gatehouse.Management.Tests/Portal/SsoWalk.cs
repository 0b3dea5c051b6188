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

    /// <summary>
    /// At the provider's end-session <paramref name="location"/> (where a site's sign-out sent the browser): answers its
    /// "sign out?" page with yes, and returns where the provider then sends the browser (the site's signed-out path).
    /// </summary>
    public static async Task<Uri> ConfirmProviderSignOutAsync(Browser browser, Uri location)
    {
        using var ask = await browser.Client.GetAsync(location);
        var page = await ask.Content.ReadAsStringAsync();
        Assert.True(ask.StatusCode == HttpStatusCode.OK, page);
        var form = LogoutForm().Match(page);
        Assert.True(form.Success, page);
        var fields = HiddenField().Matches(form.Groups[2].Value).Select(m => KeyValuePair.Create(m.Groups[1].Value, m.Groups[2].Value)).Append(KeyValuePair.Create("logout", "yes"));
        using var confirmed = await browser.Client.PostAsync(new Uri(location, WebUtility.HtmlDecode(form.Groups[1].Value)), new FormUrlEncodedContent(fields));
        Assert.True(confirmed.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, await confirmed.Content.ReadAsStringAsync());
        return new Uri(location, confirmed.Headers.Location!);
    }

    /// <summary>
    /// Starts single sign-on at <paramref name="start"/> and follows it to the provider: true when the provider shows its
    /// sign-in form (it has no session for this browser), false when it sends the browser straight back to the site's
    /// <paramref name="callback"/>.
    /// </summary>
    public static async Task<bool> ProviderAsksToSignInAsync(Browser browser, string start, string callback)
    {
        var site = browser.Client.BaseAddress!;
        var next = new Uri(site, start);
        for (var hop = 0; hop < 10; hop++)
        {
            using var response = await browser.Client.GetAsync(next);
            if (response.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.SeeOther)
            {
                next = new Uri(next, response.Headers.Location!);
                if (next.Port == site.Port && next.AbsolutePath == callback)
                {
                    return false;
                }

                continue;
            }

            var page = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, page);
            return page.Contains("name=\"login\"", StringComparison.Ordinal);
        }

        throw new InvalidOperationException("single sign-on went round more than 10 redirects");
    }

    [GeneratedRegex("<form id=\"op.logoutForm\"[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", RegexOptions.Singleline)]
    private static partial Regex LogoutForm();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")]
    private static partial Regex HiddenField();

    [GeneratedRegex("<form[^>]*action=\"([^\"]+)\"")]
    private static partial Regex FormAction();

    [GeneratedRegex("href=\"([^\"]*/abort)\"")]
    private static partial Regex AbortLink();
}
