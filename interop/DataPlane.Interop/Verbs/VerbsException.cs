namespace DataPlane.Interop.Verbs;

/// <summary>A verb failed. Names the verb and the errno, e.g. "ibv_modify_qp failed: EINVAL (22): INIT→RTR".
/// A full send or receive queue is not an exception (the post methods return it), nor is an error completion
/// (it is a <see cref="WorkCompletion"/> status).</summary>
public sealed class VerbsException : Exception
{
    /// <summary>Creates the exception for a failed verb.</summary>
    /// <param name="verb">The C function, e.g. "ibv_create_qp".</param>
    /// <param name="errno">The errno value it returned or set; 0 when it gave none.</param>
    /// <param name="detail">What was being done, or null.</param>
    public VerbsException(string verb, int errno, string? detail = null)
        : base(Describe(verb, errno, detail))
    {
        Verb = verb;
        Errno = errno;
    }

    /// <summary>The verb that failed.</summary>
    public string Verb { get; }

    /// <summary>The errno value (0 when the verb reported none).</summary>
    public int Errno { get; }

    /// <summary>The symbolic errno name, e.g. "EINVAL".</summary>
    public string ErrnoName => NameOf(Errno);

    /// <summary>The symbolic name of an errno value as verbs report them.</summary>
    internal static string NameOf(int errno) => errno switch
    {
        Interop.Verbs.ENOSYS => nameof(Interop.Verbs.ENOSYS),
        Interop.Verbs.ENODATA => nameof(Interop.Verbs.ENODATA),
        Interop.Verbs.EOVERFLOW => nameof(Interop.Verbs.EOVERFLOW),
        Interop.Verbs.ETIMEDOUT => nameof(Interop.Verbs.ETIMEDOUT),
        Interop.Verbs.ECONNREFUSED => nameof(Interop.Verbs.ECONNREFUSED),
        _ => Interop.Libc.ErrnoName(errno),
    };

    private static string Describe(string verb, int errno, string? detail)
    {
        string what = errno == 0 ? $"{verb} failed" : $"{verb} failed: {NameOf(errno)} ({errno})";
        return string.IsNullOrEmpty(detail) ? what : $"{what}: {detail}";
    }
}
