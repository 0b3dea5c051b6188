using System.Text.Json.Nodes;

namespace Gatehouse.Management.Admin;

/// <summary>The admin API's paths for the developer portal's consumer data and the console's users.</summary>
internal static partial class AdminOpenApi
{
    private static void AddPortalPaths(JsonObject paths)
    {
        var page = (string after) => new JsonArray(
            Query("limit", "integer", "How many per page: 1 to 1000 (default 100)."),
            Query(after, after == "before" ? "integer" : "string", $"The 'next' of the previous page."));
        var search = (string name, string description) =>
        {
            var parameter = Query(name, "string", description);
            parameter["schema"]!["maxLength"] = Consumers.ConsumerSearchQuery.MaxLength;
            return parameter;
        };
        var accountsQuery = page("after");
        accountsQuery.Add(search("email", "Only accounts whose address starts with this, in any case (a whole address finds its account); the pages are then in address order."));
        accountsQuery.Add(Enum(Query("state", "string", "Only accounts in this state."), "active", "pending", "suspended", "unverified"));
        paths["/admin/portal/accounts"] = new JsonObject
        {
            ["parameters"] = accountsQuery,
            ["get"] = Op("listPortalAccounts", "List portal accounts", "Portal",
                "Accounts that signed up in the developer portal, by id (by address with 'email'), a page at a time; the conditions given all apply, each on an index of the store.",
                Responses(("200", Json("PortalAccountList", "A page of accounts")), Ref("BadParameter"))),
        };
        var applicationsQuery = page("after");
        applicationsQuery.Add(search("id", "Only the application with this id (exact)."));
        applicationsQuery.Add(search("title", "Only applications whose title starts with this, in any case; without 'id' or 'account' the pages are then in title order."));
        applicationsQuery.Add(search("account", "Only this account's applications: its id, or its address (exact, in any case)."));
        applicationsQuery.Add(search("plan", "Only applications on this plan."));
        applicationsQuery.Add(Enum(Query("state", "string", "Only applications in this state."), "live", "pending", "suspended"));
        paths["/admin/portal/applications"] = new JsonObject
        {
            ["parameters"] = applicationsQuery,
            ["get"] = Op("listPortalApplications", "List portal applications", "Portal",
                "Applications made in the developer portal (not deleted), by id (by title with 'title'), with their keys' prefixes (never the keys); the conditions given all apply, each on an index of the store.",
                Responses(("200", Json("PortalApplicationList", "A page of applications")), Ref("BadParameter"))),
        };
        var transitions = new[]
        {
            ("approve", "Approve", "pending", "active (an account) or live (an application)"),
            ("reject", "Reject", "pending", "suspended"),
            ("suspend", "Suspend", "active (an account) or live (an application)", "suspended; a suspended account's applications are refused at the gateway and its sessions end"),
            ("resume", "Resume", "suspended", "active (an account) or live (an application)"),
        };
        foreach (var (kind, plural, idWhat) in new[] { ("Account", "accounts", "The account's id (acc-…)."), ("Application", "applications", "The application's id (app-…).") })
        {
            foreach (var (verb, title, from, to) in transitions)
            {
                paths[$"/admin/portal/{plural}/{{id}}/{verb}"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(PathParameter("id", idWhat)),
                    ["post"] = Op($"{verb}Portal{kind}", $"{title} a portal {kind.ToLowerInvariant()}", "Portal",
                        $"Only when it is {from}; it becomes {to}. Audited in GET /admin/portal/changes with the actor admin-api; nodes serve the change within their poll interval.",
                        Responses(("200", Json("Done", "Done")), Ref("NotFound"), ("409", Problem("It is not in the state this needs ({kind}-not-{state}), or it changed meanwhile several times (consumer-conflict)")))),
                };
            }
        }

        paths["/admin/portal/accounts/{id}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("id", "The account's id (acc-…).")),
            ["patch"] = Op("updatePortalAccount", "Change a portal account's address or name", "Portal",
                "Either or both of { \"email\", \"title\" }. A new address is taken on the caller's word (no link is mailed: for an owner who lost the old mailbox); the account's sessions end and links sent to the old address stop working. Audited in GET /admin/portal/changes (actions email and rename).",
                Responses(("200", Json("Done", "Changed")), Ref("BadRequest"), Ref("TooLarge"), Ref("NotFound"),
                    ("409", Problem("Another account has the address (email-taken), or it changed meanwhile several times (consumer-conflict)")),
                    ("422", Problem("Not an email address, or a name that is empty, longer than 100 characters or holds control characters (invalid-input)"))),
                body: Body("PortalAccountChange", "What to change")),
            ["delete"] = Op("deletePortalAccount", "Delete a portal account", "Portal",
                "Suspends the account (its sessions end, its keys are refused), deletes each of its applications (nodes drop their keys within their poll interval), then the account. Its address and name, and its applications' titles, leave the change log; the entries stay, with who did what and when. For a consumer's request to be forgotten.",
                Responses(("200", Json("Done", "Deleted")), Ref("NotFound"), ("409", Problem("It changed meanwhile several times (consumer-conflict); send it again")))),
        };
        paths["/admin/portal/applications/{id}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("id", "The application's id (app-…).")),
            ["delete"] = Op("deletePortalApplication", "Delete a portal application", "Portal", "Its keys stop working at the gateway at once on this node, on the others within their poll interval.",
                Responses(("200", Json("Done", "Deleted")), Ref("NotFound"), ("409", Problem("It changed meanwhile several times (consumer-conflict); send it again")))),
        };
        paths["/admin/portal/applications/{id}/client-ids"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("id", "The application's id (app-…).")),
            ["put"] = Op("putPortalApplicationClientIds", "Set a portal application's OAuth client ids", "Portal",
                "Replaces the OAuth client ids whose tokens mean this application at the gateway (a JWT's application claim, an introspection answer's client_id), as a config application's clientIds do: the application's plan, state and limits then hold for them. [] takes them all away. Nodes have them within their poll interval. Audited (action client ids).",
                Responses(("200", Json("PortalClientIds", "The application's client ids now")), Ref("BadRequest"), Ref("NotFound"), Ref("TooLarge"),
                    ("409", Problem("A client id belongs to a config application (its clientIds, or its name when it has none) or to another portal application (client-id-taken), or the application changed meanwhile several times (consumer-conflict)")),
                    ("422", Problem("More than 20, one named twice, or one that is not 1 to 255 printable ASCII characters without spaces (invalid-input)"))),
                body: Body("PortalClientIds", "The client ids")),
        };
        paths["/admin/portal/applications/{id}/plan"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("id", "The application's id (app-…).")),
            ["put"] = Op("putPortalApplicationPlan", "Put a portal application on a plan", "Portal",
                "Any plan of the config but the anonymous one, hidden plans too (a tier an administrator gives, which consumers cannot choose). The application's state stays as it was: this move is the approval an approval plan asks for. Its keys follow the new plan at the gateway at once on this node, on the others within their poll interval. Audited (action move to plan NAME).",
                Responses(("200", Json("PortalPlanMove", "The application's plan and state now")), Ref("BadRequest"), Ref("NotFound"), Ref("TooLarge"),
                    ("409", Problem("The application changed meanwhile several times (consumer-conflict); send it again")),
                    ("422", Problem("No such plan, or the anonymous plan (invalid-input)"))),
                body: Body("PortalPlanChange", "The plan")),
        };
        paths["/admin/portal/applications/{id}/keys/{prefix}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("id", "The application's id (app-…)."), PathParameter("prefix", "The key's prefix, as listed.")),
            ["delete"] = Op("revokePortalKey", "Revoke a portal application's key", "Portal", "The key stops working at the gateway at once on this node, on the others within their poll interval.",
                Responses(("200", Json("Done", "Revoked")), Ref("NotFound"), ("409", Problem("The application changed meanwhile several times (consumer-conflict); send it again")))),
        };
        paths["/admin/portal/changes"] = new JsonObject
        {
            ["parameters"] = page("before"),
            ["get"] = Op("listPortalChanges", "List consumer changes", "Portal", "The audit log of accounts and applications, of who was given or lost the console (kind console-user) or the admin API (kind admin-token), and of the portal's and the console's settings (kind setting, named by its store key, action set), newest first: who (portal:EMAIL, admin-api, admin-api:NAME, console:EMAIL), what, and the record before and after (no password hashes, keys or tokens).",
                Responses(("200", Json("PortalChangeList", "A page of changes")), Ref("BadParameter"))),
        };
        paths["/admin/portal/settings"] = new JsonObject
        {
            ["get"] = Op("getPortalSettings", "Get the portal's settings", "Portal", "Settings every node's portal shares (kept in the store).",
                Responses(("200", Json("PortalSettings", "The settings")))),
            ["put"] = Op("putPortalSettings", "Change the portal's settings", "Portal", "Sets the settings given (any of them); answers all of them.",
                Responses(("200", Json("PortalSettings", "The settings now")), Ref("BadRequest"), Ref("TooLarge")),
                body: Body("PortalSettingsChange", "The settings to change")),
        };
        paths["/admin/portal/accounts/{id}/two-step"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("id", "The account's id (acc-…).")),
            ["delete"] = Op("resetPortalAccountTwoStep", "Turn a portal account's two-step sign-in off", "Portal",
                "For an owner who lost their authenticator and their recovery codes: the secret and the codes are dropped and the account's sessions end; it signs in with the password alone and may set it up again. Audited (action two-step-off). Answers 200 also when it was off.",
                Responses(("200", Json("Done", "Off")), Ref("NotFound"))),
        };
        paths["/admin/portal/accounts/{id}/sso"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("id", "The account's id (acc-…).")),
            ["delete"] = Op("releasePortalAccountSso", "Release a portal account from its single sign-on identity", "Portal",
                "An account is bound to the provider identity (issuer and subject) it first signed in with; a different identity with the same address is refused. When the address was given to someone else there, this releases the account: the next sign-in through the provider with the address binds it again. Audited (action sso-unlink). Answers 200 also when it was not bound.",
                Responses(("200", Json("Done", "Released")), Ref("NotFound"))),
        };
        paths["/admin/portal/accounts/{id}/tokens"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("id", "The account's id (acc-…).")),
            ["get"] = Op("listPortalAccountTokens", "List a portal account's API tokens", "Portal",
                "The tokens the account made for the portal's JSON API (/api/v1): name, prefix, scope, when made, when they expire and when last used (to the hour); never the tokens.",
                Responses(("200", Json("PortalTokenList", "The tokens")), Ref("NotFound"))),
        };
        paths["/admin/portal/accounts/{id}/tokens/{name}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("id", "The account's id (acc-…)."), PathParameter("name", "The token's name.")),
            ["delete"] = Op("revokePortalAccountToken", "Revoke a portal account's API token", "Portal",
                "It stops working at once, on every node. Audited in GET /admin/portal/changes (action token-revoke).",
                Responses(("200", Json("Done", "Revoked")), Ref("NotFound"))),
        };
        paths["/admin/users"] = new JsonObject
        {
            ["get"] = Op("listConsoleUsers", "List console users", "Portal", "The people who may sign in to the admin console with a password, and their roles (never the hashes).",
                Responses(("200", Json("ConsoleUserList", "The users")))),
        };
        paths["/admin/users/{email}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("email", "The user's email address (compared in lower case).")),
            ["put"] = Op("putConsoleUser", "Create or replace a console user", "Portal", "The password follows the portal's rules (NIST SP 800-63B: at least 12 characters, not a common one) and is kept only as a PasswordHasher hash.",
                Responses(("200", Json("ConsoleUser", "The user")), Ref("BadRequest"), Ref("TooLarge"), ("422", Problem("The email, password or role is not valid (invalid-input); 'field' names which"))),
                body: Body("ConsoleUserRequest", "The password and role")),
            ["delete"] = Op("deleteConsoleUser", "Delete a console user", "Portal", "Their console sessions end at their next request.",
                Responses(("200", Json("ConsoleUserDeleted", "Deleted")), Ref("NotFound"))),
        };
        paths["/admin/users/{email}/invite"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("email", "The user's email address (compared in lower case).")),
            ["post"] = Op("inviteConsoleUser", "Invite a console user", "Portal",
                "Makes the user (201) with no usable password, or keeps an existing one as it is (200; a role given replaces theirs), and answers a one-time link, valid 7 days, at which they choose their own password. When this process's portal sends mail, the link is also mailed to them. Another invitation, or any change to the user, voids earlier links. With two-step sign-in on, the link sets the password but signs no one in.",
                Responses(("200", Json("ConsoleInvitation", "Invited (the user existed)")), ("201", Json("ConsoleInvitation", "Invited (the user was made)")), Ref("BadRequest"), Ref("TooLarge"),
                    ("422", Problem("The email or role is not valid (invalid-input)"))),
                body: Body("ConsoleInvitationRequest", "The role (optional)", required: false)),
        };
        paths["/admin/users/{email}/two-step"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("email", "The user's email address (compared in lower case).")),
            ["delete"] = Op("resetConsoleUserTwoStep", "Turn a console user's two-step sign-in off", "Portal",
                "For a user who lost their authenticator and their recovery codes: the secret and the codes are dropped, and the user's sessions end. They sign in with the password alone and set it up again (at once, when twoStepRequired is set).",
                Responses(("200", Json("ConsoleUser", "The user")), Ref("NotFound"))),
        };
        paths["/admin/users/{email}/sso"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("email", "The user's email address (compared in lower case).")),
            ["delete"] = Op("releaseConsoleUserSso", "Release a console user from their single sign-on identity", "Portal",
                "A console user is bound to the provider identity (issuer and subject) they first signed in with; a different identity with the same address is refused. When the address was given to someone else there, this releases the user: the next sign-in through the provider with the address binds them again. Audited (action sso-unlink).",
                Responses(("200", Json("SsoRelease", "Whether the user was bound")))),
        };
        paths["/admin/console/settings"] = new JsonObject
        {
            ["get"] = Op("getConsoleSettings", "Get the console's settings", "Portal", "Settings every node's console shares (kept in the store).",
                Responses(("200", Json("ConsoleSettings", "The settings")))),
            ["put"] = Op("putConsoleSettings", "Change the console's settings", "Portal", "Sets the settings given; answers all of them.",
                Responses(("200", Json("ConsoleSettings", "The settings now")), Ref("BadRequest"), Ref("TooLarge")),
                body: Body("ConsoleSettings", "The settings to change")),
        };
    }

    private static IEnumerable<(string Name, JsonObject Schema)> PortalSchemas()
    {
        var time = (string? description) => Str(description, "date-time");
        yield return ("Done", Object("The change was made.", ("done", Bool())));
        yield return ("PortalAccountList", Object("A page of portal accounts.",
            ("items", Array(Object("One account.", ("id", Str("acc-…")), ("email", Str()), ("title", Str("The name it signed up with")),
                ("state", Enum(Str("active: may create applications; pending: waits for approval (accountApproval); suspended; unverified: waits for its owner to confirm the address (emailVerification)"), "active", "pending", "suspended", "unverified")),
                ("createdAt", time(null))))),
            ("next", Nullable("string", "The 'after' for the next page; null on the last"))));
        yield return ("PortalApplicationList", Object("A page of portal applications.",
            ("items", Array(Object("One application.", ("id", Str("app-…")), ("account", Str("The owning account's id")), ("title", Str()), ("plan", Str()),
                ("state", Enum(Str("As decided for the application itself"), "live", "pending", "suspended")),
                ("effectiveState", Enum(Str("What the gateway does: suspended also when its account is"), "live", "pending", "suspended")),
                ("keys", Array(Object("A key, without the key.", ("prefix", Str()), ("createdAt", time(null)), ("expires", Nullable("string", "When it stops working; null: never", "date-time"))))),
                ("clientIds", Array(Str("An OAuth client id whose tokens mean this application"))),
                ("allowedAddresses", Array(Str("An address or CIDR range its owner allows its credentials from; none: any")))))),
            ("next", Nullable("string", "The 'after' for the next page; null on the last"))));
        var clientIds = Object("A portal application's OAuth client ids.", ("clientIds", Array(Str("A client id: 1 to 255 printable ASCII characters, no spaces"))));
        clientIds["required"] = new JsonArray("clientIds");
        yield return ("PortalClientIds", clientIds);
        var planChange = Object("The plan to put an application on.", ("plan", Str("A plan's name in the config")));
        planChange["required"] = new JsonArray("plan");
        yield return ("PortalPlanChange", planChange);
        yield return ("PortalPlanMove", Object("A portal application's plan and state.", ("plan", Str()), ("state", Enum(Str(), "live", "pending", "suspended"))));
        yield return ("PortalChangeList", Object("A page of consumer changes, newest first.",
            ("items", Array(Object("One change.", ("seq", Int()), ("at", time(null)), ("actor", Str()), ("action", Str()), ("kind", Str("account, application, console-user, admin-token or setting")), ("name", Str("Its id (a setting's store key)")),
                ("before", AnyJson()), ("after", AnyJson())))),
            ("next", Nullable("integer", "The 'before' for the next page; null on the last"))));
        yield return ("PortalTokenList", Object("A portal account's API tokens, by name.",
            ("items", Array(Object("One token, without the token.", ("name", Str()), ("prefix", Str("ghc_ and four more characters")), ("scope", Enum(Str("read: GET only"), "read", "write")),
                ("createdAt", time(null)), ("expiresAt", Nullable("string", "When it stops working; null: never", "date-time")),
                ("lastUsedAt", Nullable("string", "Its last use, written at most once an hour; null: never used", "date-time")))))));
        yield return ("PortalSettings", Object("The portal's shared settings.",
            [.. Consumers.PortalSwitches.All.Select(s => (s.Name, Bool($"{s.What.TrimEnd('.')} (default {(s.Default ? "true" : "false")})"))),
             ("maxApplicationsPerAccount", Int("How many applications (not deleted) one account may hold: 1 to 1,000 (default 50)")),
             ("keyLifetimeMax", KeyLifetimeMax()),
             ("tryItPerMinute", Int("How many calls one account may send through the portal docs' try it in a minute: 1 to 10,000 (default 60); more are answered 429 with Retry-After"))]));
        var change = Object("Settings to change; give any of them.",
            [.. Consumers.PortalSwitches.All.Select(s => (s.Name, Bool())), ("maxApplicationsPerAccount", Int()), ("keyLifetimeMax", KeyLifetimeMax()), ("tryItPerMinute", Int())]);
        change["additionalProperties"] = false;
        change["minProperties"] = 1;
        yield return ("PortalSettingsChange", change);

        static JsonObject KeyLifetimeMax()
        {
            var lifetime = Nullable("string", "The longest a new portal key may live, 30d, 90d or 365d (rotation too: the new key expires within it); null: keys may never expire (default)");
            lifetime["enum"] = new JsonArray("30d", "90d", "365d", null);
            return lifetime;
        }
        var account = Object("A portal account's new address or name (either or both).", ("email", Str("The new address; the account's sessions end")), ("title", Str("The new name, 1 to 100 characters")));
        account["minProperties"] = 1;
        account["additionalProperties"] = false;
        yield return ("PortalAccountChange", account);
        yield return ("ConsoleUser", Object("A console user.", ("email", Str()), ("role", Enum(Str(), "admin", "viewer")), ("twoStep", Bool("Signing in also takes an authenticator's code"))));
        yield return ("ConsoleUserList", Object("Every console user by email.",
            ("items", Array(Object(null, ("email", Str()), ("role", Enum(Str("admin: every action; viewer: reads only"), "admin", "viewer")), ("createdAt", time(null)),
                ("twoStep", Bool("Signing in also takes a code from an authenticator app (or a recovery code)")),
                ("recoveryCodesLeft", Int("With twoStep: how many of its ten recovery codes are unused")))))));
        var invitationExpires = time("When the link stops working; null with --console-oidc-only");
        invitationExpires["type"] = new JsonArray("string", "null");
        yield return ("ConsoleInvitation", Object("An invitation.", ("email", Str()), ("role", Enum(Str(), "admin", "viewer")), ("created", Bool("The user was made by it")),
            ("link", Str("Where the user chooses their password; works once (with --console-oidc-only: the console's sign-in page, as there is no password to choose)")),
            ("expiresAt", invitationExpires)));
        var invitation = Object("An invitation's role.", ("role", Enum(Str("Default admin for a new user; an existing user's stays unless given"), "admin", "viewer")));
        invitation["additionalProperties"] = false;
        yield return ("ConsoleInvitationRequest", invitation);
        yield return ("SsoRelease", Object("A console user released from their single sign-on identity.", ("email", Str()),
            ("released", Bool("The user was bound to an identity, and is no longer"))));
        var consoleSettings = Object("The console's shared settings.",
            ("twoStepRequired", Bool("Every console user must have two-step sign-in: one without it may only set it up (the admin token's sessions are not held to it)")));
        consoleSettings["additionalProperties"] = false;
        consoleSettings["minProperties"] = 1;
        yield return ("ConsoleSettings", consoleSettings);
        var request = Object("A console user's password and role.", ("password", Str("At least 12 characters (256 at most), not a common password")), ("role", Enum(Str("Default admin"), "admin", "viewer")));
        request["required"] = new JsonArray("password");
        request["additionalProperties"] = false;
        yield return ("ConsoleUserRequest", request);
        yield return ("ConsoleUserDeleted", Object("A deleted console user.", ("email", Str()), ("deleted", Bool())));
    }

    internal static JsonObject Enum(JsonObject schemaOrParameter, params string[] values)
    {
        var schema = schemaOrParameter["in"] is null ? schemaOrParameter : (JsonObject)schemaOrParameter["schema"]!;
        schema["enum"] = new JsonArray([.. values.Select(v => (JsonNode)v)]);
        return schemaOrParameter;
    }
}
