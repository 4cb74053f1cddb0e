using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DataPlane.Edge.Routing;

/// <summary>Writes single values into a JSON configuration file (appsettings style), e.g. the calibrated
/// <c>Routing:Threshold</c>. Uses <see cref="System.Text.Json.Nodes"/> and a <see cref="Utf8JsonWriter"/>
/// only — no reflection-based serialization — so it is trimming- and NativeAOT-safe.</summary>
public static class ConfigWriter
{
    /// <summary>Sets <paramref name="keyPath"/> (configuration syntax, sections separated by ':', e.g.
    /// <c>Routing:Threshold</c>) to <paramref name="value"/> in the JSON file <paramref name="jsonPath"/>.
    /// The file, and any missing sections, are created; every other key keeps its value and its place.
    /// Section and key names match case-insensitively, as .NET configuration does, and keep their existing
    /// spelling. The file is rewritten indented by two spaces; comments (allowed on reading) are not kept.
    /// The new content is written to a temporary file that then replaces the original.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is NaN or infinite (JSON has no such numbers).</exception>
    /// <exception cref="ArgumentException"><paramref name="keyPath"/> is empty or has an empty section.</exception>
    /// <exception cref="InvalidDataException">The file is not a JSON object, or a section on the path is not an object.</exception>
    public static void SetValue(string jsonPath, string keyPath, double value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jsonPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyPath);
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "JSON cannot hold NaN or infinite numbers.");
        }

        string[] keys = keyPath.Split(':');
        foreach (string key in keys)
        {
            if (key.Length == 0)
            {
                throw new ArgumentException($"The key path '{keyPath}' has an empty section.", nameof(keyPath));
            }
        }

        JsonObject root = ReadRoot(jsonPath);
        JsonObject section = root;
        for (int i = 0; i < keys.Length - 1; i++)
        {
            string name = FindKey(section, keys[i]) ?? keys[i];
            JsonNode? existing = section[name];
            if (existing is JsonObject child)
            {
                section = child;
            }
            else if (existing is null)
            {
                var created = new JsonObject();
                section[name] = created;
                section = created;
            }
            else
            {
                throw new InvalidDataException(
                    $"{jsonPath}: '{string.Join(':', keys, 0, i + 1)}' is a {existing.GetValueKind()}, not an object; cannot set '{keyPath}'.");
            }
        }

        string leaf = FindKey(section, keys[^1]) ?? keys[^1];
        section[leaf] = JsonValue.Create(value);
        Write(jsonPath, root);
    }

    private static JsonObject ReadRoot(string jsonPath)
    {
        if (!File.Exists(jsonPath))
        {
            return [];
        }

        string text = File.ReadAllText(jsonPath);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{jsonPath}: not valid JSON: {e.Message}", e);
        }

        return node as JsonObject
            ?? throw new InvalidDataException($"{jsonPath}: the top level is {(node is null ? "null" : node.GetValueKind().ToString())}, not a JSON object.");
    }

    /// <summary>The existing property of <paramref name="section"/> named <paramref name="key"/> ignoring case, if any.</summary>
    private static string? FindKey(JsonObject section, string key)
    {
        if (section.ContainsKey(key))
        {
            return key;
        }

        foreach (var property in section)
        {
            if (string.Equals(property.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return property.Key;
            }
        }

        return null;
    }

    private static void Write(string jsonPath, JsonObject root)
    {
        string full = Path.GetFullPath(jsonPath);
        string? folder = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = true,
            IndentSize = 2,
            // Keep non-ASCII text and characters like '+' readable; the file is not embedded in HTML.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            root.WriteTo(writer);
        }

        buffer.Write("\n"u8);
        string temporary = full + ".tmp";
        File.WriteAllBytes(temporary, buffer.ToArray());
        File.Move(temporary, full, overwrite: true);
    }
}
