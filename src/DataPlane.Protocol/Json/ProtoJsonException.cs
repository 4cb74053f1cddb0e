namespace DataPlane.Protocol.Json;

/// <summary>A JSON text could not be turned into a protobuf message, or a message into JSON. The
/// message names where (<see cref="JsonPath"/>, e.g. <c>input[0].data_type</c>) and what is
/// wrong (<see cref="Problem"/>), so a caller can hand it to the client as it is.</summary>
public sealed class ProtoJsonException : Exception
{
    /// <summary>Creates an exception with no path.</summary>
    public ProtoJsonException()
        : this(string.Empty, "invalid protobuf JSON")
    {
    }

    /// <summary>Creates an exception with no path.</summary>
    public ProtoJsonException(string message)
        : this(string.Empty, message)
    {
    }

    /// <summary>Creates an exception with no path that wraps <paramref name="innerException"/>.</summary>
    public ProtoJsonException(string message, Exception innerException)
        : this(string.Empty, message, innerException)
    {
    }

    /// <summary>Creates an exception for the value at <paramref name="jsonPath"/>.</summary>
    public ProtoJsonException(string jsonPath, string problem, Exception? innerException)
        : base($"{(jsonPath.Length == 0 ? "(root)" : jsonPath)}: {problem}", innerException)
    {
        JsonPath = jsonPath;
        Problem = problem;
    }

    private ProtoJsonException(string jsonPath, string problem)
        : this(jsonPath, problem, null)
    {
    }

    /// <summary>Where the problem is, in proto field names: <c>input[0].data_type</c>,
    /// <c>parameters["key"]</c>; empty for the document itself.</summary>
    public string JsonPath { get; }

    /// <summary>What is wrong, without the path.</summary>
    public string Problem { get; }
}
