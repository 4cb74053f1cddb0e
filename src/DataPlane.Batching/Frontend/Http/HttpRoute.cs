namespace DataPlane.Batching.Frontend.Http;

/// <summary>What a request path names.</summary>
internal enum RouteKind
{
    NotFound,
    ServerMetadata,
    Health,
    ModelMetadata,
    ModelReady,
    ModelConfig,
    ModelStatistics,
    Infer,
    Generate,
    ModelTrace,
    RepositoryIndex,
    RepositoryControl,
    SystemSharedMemory,
    CudaSharedMemory,
    Trace,
    Logging,
}

/// <summary>A matched route: the kind and the path's parts (percent-decoded). <see cref="Action"/> is <c>live</c> or
/// <c>ready</c> for health, <c>status</c>, <c>register</c> or <c>unregister</c> for shared memory, <c>load</c> or
/// <c>unload</c> for repository control, <c>generate</c> or <c>generate_stream</c> for generation.</summary>
internal readonly record struct HttpRoute(RouteKind Kind, string Model = "", string Version = "", string Action = "", string Region = "",
    string Repository = "")
{
    /// <summary>Matches a raw request path (no query) with Triton's rules: the full path exactly, no trailing-slash
    /// tolerance, in Triton's order (<c>/v2/models/stats</c>, <c>/v2/logging</c>, the model routes, <c>/v2</c>,
    /// health, system and CUDA shared memory, the repository, <c>/v2/trace/setting</c>). Model and region names are
    /// one path segment (<c>[^/]+</c>), versions are digits.</summary>
    public static HttpRoute Match(string path)
    {
        if (path == "/v2/models/stats")
        {
            return new(RouteKind.ModelStatistics);
        }

        if (path == "/v2/logging")
        {
            return new(RouteKind.Logging);
        }

        if (MatchModel(path) is { } model)
        {
            return model;
        }

        if (path == "/v2")
        {
            return new(RouteKind.ServerMetadata);
        }

        if (path is "/v2/health/live" or "/v2/health/ready")
        {
            return new(RouteKind.Health, Action: path[11..]);
        }

        if (MatchSharedMemory(path, "/v2/systemsharedmemory", RouteKind.SystemSharedMemory) is { } system)
        {
            return system;
        }

        if (MatchSharedMemory(path, "/v2/cudasharedmemory", RouteKind.CudaSharedMemory) is { } cuda)
        {
            return cuda;
        }

        if (MatchRepository(path) is { } repository)
        {
            return repository;
        }

        return path == "/v2/trace/setting" ? new(RouteKind.Trace) : new(RouteKind.NotFound);
    }

    /// <summary><c>/v2/models/&lt;m&gt;[/versions/&lt;v&gt;][/infer|generate|generate_stream|ready|config|stats|trace/setting]</c>;
    /// a trace route with a version matches nothing (Triton answers 404).</summary>
    private static HttpRoute? MatchModel(string path)
    {
        const string Prefix = "/v2/models/";
        if (!path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = path.AsSpan(Prefix.Length);
        int slash = rest.IndexOf('/');
        var name = slash < 0 ? rest : rest[..slash];
        if (name.IsEmpty)
        {
            return null;
        }

        rest = slash < 0 ? [] : rest[slash..];
        string version = "";
        if (rest.StartsWith("/versions/"))
        {
            var digits = rest["/versions/".Length..];
            int end = digits.IndexOfAnyExceptInRange('0', '9');
            if (end < 0)
            {
                end = digits.Length;
            }

            if (end > 0)
            {
                version = digits[..end].ToString();
                rest = digits[end..];
            }
        }

        var kind = rest switch
        {
            "" => RouteKind.ModelMetadata,
            "/infer" => RouteKind.Infer,
            "/generate" or "/generate_stream" => RouteKind.Generate,
            "/ready" => RouteKind.ModelReady,
            "/config" => RouteKind.ModelConfig,
            "/stats" => RouteKind.ModelStatistics,
            "/trace/setting" => version.Length == 0 ? RouteKind.ModelTrace : RouteKind.NotFound,
            _ => RouteKind.NotFound,
        };
        return kind == RouteKind.NotFound ? null
            : new HttpRoute(kind, Decode(name), version, kind == RouteKind.Generate ? rest[1..].ToString() : "");
    }

    /// <summary><c>&lt;prefix&gt;[/region/&lt;r&gt;]/(status|register|unregister)</c>.</summary>
    private static HttpRoute? MatchSharedMemory(string path, string prefix, RouteKind kind)
    {
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = path.AsSpan(prefix.Length);
        string region = "";
        if (rest.StartsWith("/region/"))
        {
            var after = rest["/region/".Length..];
            int slash = after.IndexOf('/');
            if (slash > 0)
            {
                region = Decode(after[..slash]);
                rest = after[slash..];
            }
        }

        return rest switch
        {
            "/status" => new HttpRoute(kind, Action: "status", Region: region),
            "/register" => new HttpRoute(kind, Action: "register", Region: region),
            "/unregister" => new HttpRoute(kind, Action: "unregister", Region: region),
            _ => null,
        };
    }

    /// <summary><c>/v2/repository[/&lt;repo&gt;]/(index|models/&lt;m&gt;/(load|unload))</c>; as with Triton's regular
    /// expression, the repository segment is taken when the rest then matches.</summary>
    private static HttpRoute? MatchRepository(string path)
    {
        const string Prefix = "/v2/repository";
        if (!path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = path.AsSpan(Prefix.Length);
        if (rest.StartsWith("/"))
        {
            var after = rest[1..];
            int slash = after.IndexOf('/');
            if (slash > 0 && MatchRepositoryAction(after[slash..], Decode(after[..slash])) is { } withRepository)
            {
                return withRepository;
            }
        }

        return MatchRepositoryAction(rest, "");
    }

    private static HttpRoute? MatchRepositoryAction(ReadOnlySpan<char> rest, string repository)
    {
        if (rest.SequenceEqual("/index"))
        {
            return new HttpRoute(RouteKind.RepositoryIndex, Repository: repository);
        }

        if (!rest.StartsWith("/models/"))
        {
            return null;
        }

        var after = rest["/models/".Length..];
        int slash = after.IndexOf('/');
        if (slash <= 0)
        {
            return null;
        }

        var action = after[slash..];
        return action is "/load" or "/unload"
            ? new HttpRoute(RouteKind.RepositoryControl, Decode(after[..slash]), Action: action[1..].ToString(), Repository: repository)
            : null;
    }

    /// <summary>A path segment, percent-decoded (as UTF-8); a malformed escape is kept as it is.</summary>
    private static string Decode(ReadOnlySpan<char> segment) =>
        segment.Contains('%') ? Uri.UnescapeDataString(segment.ToString()) : segment.ToString();
}
