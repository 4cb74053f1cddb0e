using System.Globalization;
using System.Net;
using DataPlane.CommandLine;
using DataPlane.Transfer.Engine;

namespace DataPlane.Transfer.Bench;

/// <summary>The outcome of parsing the xfer-bench command line.</summary>
/// <param name="Settings">The settings; null on error or help.</param>
/// <param name="Error">Why the command line was refused, naming the option.</param>
/// <param name="HelpRequested">True when --help was given.</param>
public sealed record XferBenchParseResult(XferBenchSettings? Settings, string? Error, bool HelpRequested);

/// <summary>The <c>dataplane xfer-bench</c> options on the shared command-line layer (<see cref="CommandParser"/>). Options take their
/// value as the next argument or after '='. Unknown options, missing or malformed values and contradictions are
/// errors that name the option.</summary>
public static class XferBenchArguments
{
    /// <summary>Largest message size (1 GiB).</summary>
    public const int MaxSize = 1 << 30;

    /// <summary>The verb's options, declared once for the parser and the help.</summary>
    public static CommandSpec Spec { get; } = new("dataplane", "xfer-bench", "RDMA/TCP bandwidth and latency between two hosts")
    {
        Usage = ["--server [options]", "--connect [NAME@]HOST:PORT [options]"],
        Description = """
            Transfer-engine benchmark in the manner of perftest (ib_write_bw, ib_read_bw, ib_send_lat): the server
            registers a region and answers; the client measures WRITE/READ bandwidth per message size with a window
            of operations in flight, then small-message latency (SEND/RECV ping-pong and WRITE-with-ack round trips).
            """,
        Options =
        [
            CommandOption.Flag("--server", "run the server side"),
            CommandOption.Value("--listen", "HOST:PORT", "server address (default 0.0.0.0:18520)"),
            CommandOption.Flag("--once", "server: exit after the first client has finished"),
            CommandOption.Value("--region", "BYTES", "server: size of the registered region (default 64M)"),
            CommandOption.Value("--connect", "[NAME@]HOST:PORT", "run the client against a server; with TLS, NAME is the server's certificate\n" +
                "name (default: HOST when it is a DNS name)"),
            CommandOption.Value("--transport", "MODE", "auto (RDMA when usable, else TCP; default), rdma or tcp"),
            CommandOption.Value("--test", "KIND", "all (default), bw or lat"),
            CommandOption.Value("--ops", "LIST", "bandwidth operations: write,read (default both)"),
            CommandOption.Value("--sizes", "LIST", "bandwidth sizes (default 4K,16K,64K,256K,1M,4M,16M,64M); K/M/G = KiB/MiB/GiB"),
            CommandOption.Value("--lat-sizes", "LIST", "latency sizes (default 8,64,512,4K)"),
            CommandOption.Value("--iterations", "N", "operations per bandwidth size (default 1000)"),
            CommandOption.Value("--lat-iterations", "N", "round trips per latency size (default 1000)"),
            CommandOption.Value("--duration", "S", "cap on each bandwidth size's time in seconds (default 2)"),
            CommandOption.Value("--window", "N", "operations in flight (default 16)"),
            CommandOption.Value("--flow-class", "NAME", "flow class of the connection (default \"default\")"),
            CommandOption.Value("--dscp", "N", "DSCP of that flow class, 0..63 (default 0); RDMA: GRH traffic class N*4"),
            CommandOption.Value("--rdma-device", "NAME", "RDMA device to use (default: the first with an active port and a RoCE v2 GID)"),
            CommandOption.Value("--gid-index", "N", "GID index to use (default: chosen; IPv4-mapped RoCE v2 preferred)"),
            CommandOption.Value("--subnet", "CIDR", "only GIDs in this subnet, e.g. 10.0.0.0/8"),
            CommandOption.Value("--rdma-library", "PATH", "libibverbs to load (default libibverbs.so.1 from the loader path)"),
            CommandOption.Value("--cert", "FILE", "mutual TLS 1.3 with this certificate and key (PEM), trusting only --ca for the\n" +
                "peer (host certificates of scripts/pki.sh); without them: plain TCP, unauthenticated"),
            CommandOption.Value("--key", "FILE", "the key of --cert (PEM)"),
            CommandOption.Value("--ca", "FILE", "the CA the peer's certificate must chain to (PEM)"),
            CommandOption.Value("--encryption", "MODE", "with TLS: tls (default: data inside TLS) or none (TLS authenticates, data in clear;\n" +
                "in clear only when both sides say none)"),
            CommandOption.Value("--allow", "LIST", "server with TLS: client certificate names allowed (default: any from the CA)"),
            CommandOption.Value("--json", "FILE", "write the results as JSON"),
        ],
        Epilogue = """
            Bandwidth: Gb/s = 10^9 bit/s of payload, MiB/s = 2^20 B/s. Latency figures are round trips in µs
            (perftest's *_lat tools print half of that).
            Exit codes: 0 done, 1 connection or transfer failure, 2 bad arguments, 130 cancelled.
            """,
    };

    /// <summary>The usage text.</summary>
    public static string Usage { get; } = Spec.RenderHelp();

    /// <summary>Parses <paramref name="args"/> (the arguments after the verb).</summary>
    public static XferBenchParseResult Parse(IReadOnlyList<string> args)
    {
        var line = CommandParser.Parse(Spec, args);
        if (line.HelpRequested)
        {
            return new XferBenchParseResult(null, null, true);
        }

        if (line.Error is { } problem)
        {
            return Fail(problem);
        }

        var s = new XferBenchSettings();
        bool server = false, listenGiven = false, onceGiven = false, regionGiven = false, encryptionGiven = false;
        string? connect = null;
        foreach (var (option, given) in line.Given)
        {
            string name = option.Name;
            if (name is "--server" or "--once")
            {
                if (name == "--server")
                {
                    server = true;
                }
                else
                {
                    onceGiven = true;
                }

                continue;
            }

            string value = given ?? "";
            string? error = null;
            switch (name)
            {
                case "--listen":
                    listenGiven = true;
                    if (TryEndPoint(value, out string host, out int port) && IPAddress.TryParse(host, out var address))
                    {
                        s = s with { Listen = new IPEndPoint(address, port) };
                    }
                    else
                    {
                        error = $"option --listen: '{value}' is not ADDRESS:PORT (an IP address and a port 0..65535)";
                    }

                    break;
                case "--connect":
                    int at = value.IndexOf('@', StringComparison.Ordinal);
                    string? peerName = at > 0 ? value[..at] : null;
                    if (peerName is not null && !Security.CertificateNames.IsValidIdentity(peerName))
                    {
                        error = $"option --connect: '{peerName}' is not a DNS name or URI (the server's certificate name)";
                    }
                    else if (TryEndPoint(value[(at + 1)..], out string chost, out int cport) && cport > 0)
                    {
                        connect = chost;
                        s = s with { ConnectHost = chost, ConnectPort = cport, ConnectName = peerName };
                    }
                    else
                    {
                        error = $"option --connect: '{value}' is not [NAME@]HOST:PORT (a port 1..65535)";
                    }

                    break;
                case "--cert":
                case "--key":
                case "--ca":
                    if (value.Length == 0)
                    {
                        error = $"option {name}: empty file name";
                    }
                    else
                    {
                        s = name switch
                        {
                            "--cert" => s with { CertificatePath = value },
                            "--key" => s with { KeyPath = value },
                            _ => s with { CaPath = value },
                        };
                    }

                    break;
                case "--encryption":
                    encryptionGiven = true;
                    switch (value)
                    {
                        case "tls": s = s with { EncryptData = true }; break;
                        case "none": s = s with { EncryptData = false }; break;
                        default: error = $"option --encryption: '{value}' is not one of tls, none"; break;
                    }

                    break;
                case "--allow":
                    var names = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    string? bad = names.Length == 0 ? value : names.FirstOrDefault(n => !Security.CertificateNames.IsValidIdentity(n));
                    if (bad is not null)
                    {
                        error = $"option --allow: '{bad}' is not a DNS name or URI";
                    }
                    else
                    {
                        s = s with { AllowedPeers = names };
                    }

                    break;
                case "--region":
                    regionGiven = true;
                    if (TrySize(value, out int region))
                    {
                        s = s with { RegionBytes = region };
                    }
                    else
                    {
                        error = $"option --region: '{value}' is not a size from 1 byte to 1G";
                    }

                    break;
                case "--transport":
                    switch (value)
                    {
                        case "auto": s = s with { Transport = TransportMode.Auto }; break;
                        case "rdma": s = s with { Transport = TransportMode.Rdma }; break;
                        case "tcp": s = s with { Transport = TransportMode.Tcp }; break;
                        default: error = $"option --transport: '{value}' is not one of auto, rdma, tcp"; break;
                    }

                    break;
                case "--test":
                    switch (value)
                    {
                        case "all": s = s with { Test = XferTest.All }; break;
                        case "bw": s = s with { Test = XferTest.Bandwidth }; break;
                        case "lat": s = s with { Test = XferTest.Latency }; break;
                        default: error = $"option --test: '{value}' is not one of all, bw, lat"; break;
                    }

                    break;
                case "--ops":
                    bool write = false, read = false;
                    foreach (string op in value.Split(',', StringSplitOptions.TrimEntries))
                    {
                        if (op == "write")
                        {
                            write = true;
                        }
                        else if (op == "read")
                        {
                            read = true;
                        }
                        else
                        {
                            error = $"option --ops: '{op}' is not write or read";
                            break;
                        }
                    }

                    s = s with { Write = write, Read = read };
                    break;
                case "--sizes":
                case "--lat-sizes":
                    if (TrySizes(value, out var sizes))
                    {
                        s = name == "--sizes" ? s with { Sizes = sizes } : s with { LatencySizes = sizes };
                    }
                    else
                    {
                        error = $"option {name}: '{value}' is not a comma-separated list of sizes from 1 byte to 1G (e.g. 4K,1M)";
                    }

                    break;
                case "--iterations":
                case "--lat-iterations":
                case "--window":
                    int max = name == "--window" ? 4096 : 100_000_000;
                    if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= max)
                    {
                        s = name switch
                        {
                            "--iterations" => s with { Iterations = n },
                            "--lat-iterations" => s with { LatencyIterations = n },
                            _ => s with { Window = n },
                        };
                    }
                    else
                    {
                        error = $"option {name}: '{value}' is not a whole number from 1 to {max}";
                    }

                    break;
                case "--duration":
                    if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0 && seconds <= 86400)
                    {
                        s = s with { Duration = TimeSpan.FromSeconds(seconds) };
                    }
                    else
                    {
                        error = $"option --duration: '{value}' is not a number of seconds above 0";
                    }

                    break;
                case "--flow-class":
                    if (value.Length == 0)
                    {
                        error = "option --flow-class: empty name";
                    }
                    else
                    {
                        s = s with { FlowClass = value };
                    }

                    break;
                case "--dscp":
                    if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int dscp) && dscp <= 63)
                    {
                        s = s with { Dscp = dscp };
                    }
                    else
                    {
                        error = $"option --dscp: '{value}' is not a whole number from 0 to 63";
                    }

                    break;
                case "--rdma-device":
                    s = s with { Rdma = s.Rdma with { Device = value } };
                    break;
                case "--rdma-library":
                    s = s with { Rdma = s.Rdma with { LibraryPath = value } };
                    break;
                case "--subnet":
                    s = s with { Rdma = s.Rdma with { Subnet = value } };
                    break;
                case "--gid-index":
                    if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int gid) && gid <= 255)
                    {
                        s = s with { Rdma = s.Rdma with { GidIndex = gid } };
                    }
                    else
                    {
                        error = $"option --gid-index: '{value}' is not a whole number from 0 to 255";
                    }

                    break;
                case "--json":
                    if (value.Length == 0)
                    {
                        error = "option --json: empty file name";
                    }
                    else
                    {
                        s = s with { JsonPath = value };
                    }

                    break;
            }

            if (error is not null)
            {
                return Fail(error);
            }
        }

        if (server == (connect is not null))
        {
            return Fail(server ? "options --server and --connect exclude each other" : "give --server or --connect HOST:PORT");
        }

        if (!server && (listenGiven || onceGiven || regionGiven || s.AllowedPeers is not null))
        {
            return Fail($"option {(listenGiven ? "--listen" : onceGiven ? "--once" : regionGiven ? "--region" : "--allow")} is for the server (--server)");
        }

        int tlsFiles = (s.CertificatePath is null ? 0 : 1) + (s.KeyPath is null ? 0 : 1) + (s.CaPath is null ? 0 : 1);
        if (tlsFiles is 1 or 2)
        {
            return Fail($"options --cert, --key and --ca go together (missing: {string.Join(", ", new[] { s.CertificatePath is null ? "--cert" : null, s.KeyPath is null ? "--key" : null, s.CaPath is null ? "--ca" : null }.OfType<string>())})");
        }

        if (tlsFiles == 0 && (encryptionGiven || s.AllowedPeers is not null || s.ConnectName is not null))
        {
            return Fail($"option {(encryptionGiven ? "--encryption" : s.AllowedPeers is not null ? "--allow" : "--connect NAME@")} needs --cert, --key and --ca (without them the connection is plain TCP, unauthenticated)");
        }

        if (tlsFiles == 3 && !server && s.ConnectName is null)
        {
            if (System.Net.IPAddress.TryParse(s.ConnectHost, out _))
            {
                return Fail($"option --connect: with TLS name the server by its certificate: NAME@{s.ConnectHost}:{s.ConnectPort}");
            }

            s = s with { ConnectName = s.ConnectHost };
        }

        return new XferBenchParseResult(s with { Server = server, Once = onceGiven }, null, false);
    }

    /// <summary>Parses a size: a whole number of bytes with an optional K, M or G (binary) suffix.</summary>
    public static bool TrySize(string text, out int bytes)
    {
        bytes = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        long unit = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            _ => 1,
        };
        string digits = unit == 1 ? text : text[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0 || n > MaxSize / unit)
        {
            return false;
        }

        bytes = (int)(n * unit);
        return true;
    }

    private static bool TrySizes(string text, out IReadOnlyList<int> sizes)
    {
        var list = new List<int>();
        sizes = list;
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!TrySize(part, out int size))
            {
                return false;
            }

            list.Add(size);
        }

        return list.Count > 0;
    }

    private static bool TryEndPoint(string text, out string host, out int port)
    {
        host = "";
        port = 0;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }

        host = text[..colon].Trim('[', ']');
        return host.Length > 0
            && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port)
            && port <= 65535;
    }

    private static XferBenchParseResult Fail(string error) => new(null, error, false);
}
