using Gatehouse.Model.Config;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Loading;

/// <summary>Errors about the document as a whole: syntax, version, how many documents.</summary>
public sealed class DocumentTests
{
    [Fact]
    public void Version_Missing_ErrorSaysToAddIt()
    {
        var error = ConfigText.SingleError("""
            services: {}
            """, "version");

        Assert.Contains("version: 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_Unsupported_ErrorNamesBothVersions()
    {
        var error = ConfigText.SingleError("""
            version: 2
            """, "version");

        Assert.Contains("version 2 is not supported", error.Message, StringComparison.Ordinal);
        Assert.Contains($"reads version {GatehouseConfig.CurrentVersion}", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, error.Line);
    }

    [Fact]
    public void Version_NotANumber_IsATypeError()
    {
        var error = ConfigText.SingleError("""
            version: one
            """, "version");

        Assert.Contains("whole number", error.Message, StringComparison.Ordinal);
        Assert.Contains("'one'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Document_SeveralYamlDocuments_IsAnError()
    {
        var error = ConfigText.SingleError("""
            version: 1
            ---
            version: 1
            """, "");

        Assert.Contains("several YAML documents", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Document_Empty_SaysHowToStart()
    {
        var error = ConfigText.SingleError("# only a comment\n", "");

        Assert.Contains("version: 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Document_NotAMapping_SaysWhatWasExpected()
    {
        var error = ConfigText.SingleError("- version: 1\n", "");

        Assert.Contains("expected a mapping", error.Message, StringComparison.Ordinal);
        Assert.Contains("a list", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Document_InvalidYaml_ReportsTheLine()
    {
        var error = ConfigText.SingleError("""
            version: 1
            services:
              users: targets: [http://127.0.0.1:5001]
            """, "");

        Assert.Contains("not valid YAML or JSON", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void Document_UnclosedFlowSequenceWithColon_IsAnErrorNotACrash()
    {
        // YamlDotNet throws InvalidOperationException, not YamlException, for this input.
        var error = ConfigText.SingleError("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001
            routes: {}
            """, "");

        Assert.Contains("not valid YAML or JSON", error.Message, StringComparison.Ordinal);
        Assert.Equal(4, error.Line);
    }

    [Fact]
    public void Document_UnclosedFlowSequence_ReportsTheLine()
    {
        var error = ConfigText.SingleError("""
            version: 1
            services:
              users:
                targets: [a, b
            """, "");

        Assert.Contains("not valid YAML or JSON", error.Message, StringComparison.Ordinal);
        Assert.Contains("']'", error.Message, StringComparison.Ordinal);
        Assert.Equal(5, error.Line);
    }

    [Fact]
    public void Document_InvalidJson_ReportsTheLine()
    {
        var error = ConfigText.SingleError("""
            {
              "version": 1
              "services": { "users": { "targets": ["http://127.0.0.1:5001"] } }
            }
            """, "");

        Assert.Contains("not valid YAML or JSON", error.Message, StringComparison.Ordinal);
        Assert.Contains("','", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void Document_JsonIndentedWithTabs_Loads()
    {
        var c = ConfigText.Valid("{\n\t\"version\": 1,\n\t\"services\": {\n\t\t\"users\": {\n\t\t\t\"targets\": [\"http://127.0.0.1:5001\"]\n\t\t}\n\t}\n}\n");

        Assert.Equal("http://127.0.0.1:5001", c.Services["users"].Targets[0].Url);
    }

    [Fact]
    public void Document_DuplicateServiceName_NamesTheKeyAndLine()
    {
        var error = ConfigText.SingleError("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
              users:
                targets: [http://127.0.0.1:5002]
            """, "");

        Assert.Contains("key 'users' appears twice", error.Message, StringComparison.Ordinal);
        Assert.Equal(5, error.Line);
    }

    [Fact]
    public void Document_SameKeyWithAndWithoutATag_IsReportedByTheBinder()
    {
        // YamlDotNet only rejects keys that are equal including their tag; the binder catches the rest.
        var error = ConfigText.SingleError("""
            version: 1
            !!str version: 1
            """, "version");

        Assert.Equal("key 'version' appears twice; keep one.", error.Message);
        Assert.Equal(2, error.Line);
    }

    [Fact]
    public void ErrorLine_OfABindingError_IsTheOffendingValuesLine()
    {
        var error = ConfigText.SingleError("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                timeout: soon
            """, "services.users.timeout");

        Assert.Equal(5, error.Line);
        Assert.Equal("services.users.timeout (line 5): " + error.Message, error.ToString());
    }
}
