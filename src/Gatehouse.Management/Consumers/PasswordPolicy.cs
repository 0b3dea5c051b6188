using System.Globalization;
using System.Text;

namespace Gatehouse.Management.Consumers;

/// <summary>
/// NIST SP 800-63B (5.1.1.2) for passwords people choose: at least <see cref="MinLength"/> characters, up to
/// <see cref="MaxLength"/>, every printable character and space allowed, no composition rules, and refused when it is a
/// commonly used password, a run of one character or a keyboard/number sequence, or contains the account's email name
/// or the product's name. The common list is small on purpose (the issue asks for one); it is written out here rather
/// than downloaded because this machine reaches no breach corpus, and checking one is not this code's business.
/// </summary>
internal static class PasswordPolicy
{
    public const int MinLength = 12;

    /// <summary>NIST asks that at least 64 be allowed; longer ones only cost hashing time.</summary>
    public const int MaxLength = 256;

    private static readonly HashSet<string> Common = new(StringComparer.Ordinal)
    {
        "123456789012", "1234567890123", "12345678901234", "123456123456", "123123123123", "111111111111", "000000000000",
        "password1234", "password12345", "password123456", "passwordpassword", "password1!", "p@ssw0rd1234", "passw0rd1234",
        "qwertyuiopas", "qwertyuiop123", "qwerty123456", "qwertyqwerty", "1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsxcde3",
        "iloveyou1234", "iloveyouiloveyou", "letmein12345", "welcome12345", "welcome123456", "admin1234567", "administrator",
        "changeme1234", "changemenow!", "abcdefghijkl", "abcdef123456", "abc123abc123", "football1234", "baseball1234",
        "sunshine1234", "princess1234", "dragon123456", "monkey123456", "superman1234", "trustno1trustno1", "starwars1234",
        "michael12345", "whatever1234", "computer1234", "internet1234", "asdfghjkl123", "asdfasdfasdf", "zxcvbnm12345",
        "correcthorsebatterystaple", "thequickbrownfox", "mypassword123", "secretpassword", "password2024", "password2025",
        "password2026", "summer2024!!", "winter2024!!", "spring2025!!", "autumn2025!!", "januari12345", "letmeinletmein",
    };

    /// <summary>Why <paramref name="password"/> cannot be used, or null when it can.</summary>
    public static string? Check(string password, string email)
    {
        var length = new StringInfo(password.Normalize(NormalizationForm.FormKC)).LengthInTextElements;
        if (length < MinLength)
        {
            return $"Choose a password of at least {MinLength} characters; a few words with spaces between them make a good one.";
        }

        if (password.Length > MaxLength)
        {
            return $"Choose a password of at most {MaxLength} characters.";
        }

        var lower = password.ToLowerInvariant();
        if (Common.Contains(lower) || lower.Contains("gatehouse", StringComparison.Ordinal))
        {
            return "That password is too common or easy to guess; choose another.";
        }

        if (lower.Distinct().Count() <= 2 || IsSequence(lower))
        {
            return "That password is a repeated or sequential run of characters; choose another.";
        }

        var name = email.Split('@')[0].ToLowerInvariant();
        if (name.Length >= 4 && lower.Contains(name, StringComparison.Ordinal))
        {
            return "That password contains your email name; choose another.";
        }

        return null;
    }

    // Each character one above (or below) the previous: 1234567890ab, abcdefghijkl, lkjihgfedcba.
    private static bool IsSequence(string text)
    {
        var up = 0;
        var down = 0;
        for (var i = 1; i < text.Length; i++)
        {
            up += text[i] == text[i - 1] + 1 ? 1 : 0;
            down += text[i] == text[i - 1] - 1 ? 1 : 0;
        }

        return up >= text.Length - 2 || down >= text.Length - 2;
    }
}
