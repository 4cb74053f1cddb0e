using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace DataPlane.Edge.Api;

/// <summary>A bearer key of the agent's API: its name (metrics and logs), the SHA-256 of the key (the key itself is
/// never stored) and the models it may use: names, prefixes written <c>name*</c>, or <c>*</c>.</summary>
public sealed record ApiKey(string Name, byte[] Sha256, IReadOnlyList<string> Models)
{
    /// <summary>True when <paramref name="model"/> is one of the key's models.</summary>
    public bool Allows(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (string pattern in Models)
        {
            if (pattern == "*" || (pattern.EndsWith('*') ? model.StartsWith(pattern[..^1], StringComparison.Ordinal) : pattern == model))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The result of checking a request's <c>Authorization</c> header: the key it carries, or the 401 to answer.</summary>
/// <param name="Key">The matching key; null when keys are not required, or on failure.</param>
/// <param name="Error">401 in OpenAI's shape, or null.</param>
/// <param name="Reason">missing_key or invalid_key on failure (a metric label).</param>
public readonly record struct ApiKeyCheck(ApiKey? Key, ApiError? Error, string? Reason);

/// <summary>The agent API's bearer keys (<c>Authorization:Keys</c>). With none configured the API is open, as before.
/// With some, every API request except <c>/healthz</c> and <c>/readyz</c> needs <c>Authorization: Bearer &lt;key&gt;</c>
/// (as OpenAI's SDKs send the API key): a missing or unknown key is answered 401, a model outside the key's list 403,
/// and <c>/v1/models</c> lists only the key's models. The presented key is hashed (SHA-256) and compared with every
/// configured hash in constant time.</summary>
public sealed class ApiKeySet
{
    private const string Scheme = "Bearer ";

    public ApiKeySet(IReadOnlyList<ApiKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        Keys = keys;
    }

    /// <summary>No keys: the API is open.</summary>
    public static ApiKeySet None { get; } = new([]);

    public IReadOnlyList<ApiKey> Keys { get; }

    /// <summary>True when requests must carry a key.</summary>
    public bool Required => Keys.Count > 0;

    /// <summary>The lowercase hex SHA-256 of a key's UTF-8 bytes, as <c>Authorization:Keys:&lt;name&gt;:Sha256</c> holds it
    /// (the same as <c>printf %s KEY | sha256sum</c>).</summary>
    public static string Hash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    /// <summary>A new random key: 32 bytes from the system's CSPRNG, base64url, prefixed <c>dpa-</c>.</summary>
    public static string NewKey() =>
        "dpa-" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Checks the values of a request's <c>Authorization</c> header.</summary>
    public ApiKeyCheck Check(StringValues authorization)
    {
        if (!Required)
        {
            return default;
        }

        string? value = authorization.Count == 1 ? authorization[0] : null;
        if (value == null || !value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || value.Length == Scheme.Length)
        {
            return new ApiKeyCheck(null, authorization.Count == 0 ? Missing() : Invalid(), authorization.Count == 0 ? "missing_key" : "invalid_key");
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(value.AsSpan(Scheme.Length).Trim().ToString()), hash);
        ApiKey? found = null;
        // Every configured hash is compared, in constant time, whichever matches.
        foreach (var key in Keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Sha256))
            {
                found = key;
            }
        }

        return found != null ? new ApiKeyCheck(found, null, null) : new ApiKeyCheck(null, Invalid(), "invalid_key");
    }

    /// <summary>401 for a request without a key, OpenAI's text and shape (code null).</summary>
    public static ApiError Missing() => new(StatusCodes.Status401Unauthorized,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        "invalid_request_error");

    /// <summary>401 for a key that is not configured (the key is not repeated).</summary>
    public static ApiError Invalid() => new(StatusCodes.Status401Unauthorized,
        "Incorrect API key provided. Ask the operator of this node for a key (Authorization:Keys).", "invalid_request_error", null, "invalid_api_key");

    /// <summary>403 for a model outside the key's list.</summary>
    public static ApiError ModelNotAllowed(ApiKey key, string model)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new(StatusCodes.Status403Forbidden,
            $"The API key '{key.Name}' may not use the model '{(model.Length <= 256 ? model : string.Concat(model.AsSpan(0, 256), "…"))}'; its models: {string.Join(", ", key.Models)}",
            "invalid_request_error", "model", "model_not_allowed");
    }
}
