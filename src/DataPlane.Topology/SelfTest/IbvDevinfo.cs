using System.Globalization;

namespace DataPlane.Topology.SelfTest;

/// <summary>A value printed as <c>NAME (N)</c>, e.g. <c>PORT_ACTIVE (4)</c> or <c>1024 (3)</c>.</summary>
/// <param name="Text">The text before the parenthesis.</param>
/// <param name="Number">The number in it.</param>
public readonly record struct IbvEnum(string Text, int Number)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Text} ({Number})");
}

/// <summary>One port of an <c>ibv_devinfo -v</c> device.</summary>
/// <param name="Port">Port number.</param>
/// <param name="State"><c>state</c>, e.g. PORT_ACTIVE (4).</param>
/// <param name="PhysicalState"><c>phys_state</c>, e.g. LINK_UP (5); null when not printed.</param>
/// <param name="ActiveMtu"><c>active_mtu</c>, e.g. 1024 (3); null when not printed.</param>
/// <param name="LinkLayer"><c>link_layer</c>: Ethernet or InfiniBand.</param>
/// <param name="Gids">The non-zero GID entries as printed (<c>fe80:…, RoCE v2</c>), by index.</param>
public sealed record IbvPort(int Port, IbvEnum? State, IbvEnum? PhysicalState, IbvEnum? ActiveMtu, string? LinkLayer, IReadOnlyDictionary<int, string> Gids);

/// <summary>One <c>hca_id</c> block of <c>ibv_devinfo -v</c>.</summary>
/// <param name="Name">The device, e.g. mlx5_0.</param>
/// <param name="FirmwareVersion"><c>fw_ver</c>, null when not printed.</param>
/// <param name="BoardId"><c>board_id</c>, null when not printed.</param>
/// <param name="PhysicalPortCount"><c>phys_port_cnt</c>, null when not printed.</param>
/// <param name="Ports">Its ports in printed order.</param>
public sealed record IbvDevice(string Name, string? FirmwareVersion, string? BoardId, int? PhysicalPortCount, IReadOnlyList<IbvPort> Ports);

/// <summary>What rdma-core's <c>ibv_devinfo -v</c> printed (<c>libibverbs/examples/devinfo.c</c>): <c>hca_id:</c> opens a
/// device, <c>port:</c> one of its ports, every other line is <c>key: value</c> (tabs between) or a capability flag on a
/// line of its own, which is skipped. No devices is an empty file: the tool says "No IB devices found" on stderr.</summary>
/// <param name="Devices">Devices in printed order.</param>
public sealed record IbvDevinfo(IReadOnlyList<IbvDevice> Devices)
{
    /// <summary>Reads <paramref name="file"/>.</summary>
    public static IbvDevinfo Read(string file) => Parse(file, ToolText.ReadAll(file));

    /// <summary>Parses the text of <c>ibv_devinfo -v</c>; <paramref name="file"/> names it in errors.</summary>
    public static IbvDevinfo Parse(string file, string text)
    {
        var lines = ToolText.Lines(text);
        var devices = new List<IbvDevice>();
        DeviceBuilder? device = null;
        PortBuilder? port = null;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (line.Length == 0 || colon <= 0)
            {
                continue;
            }

            string key = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            int n = i + 1;
            if (key == "hca_id")
            {
                Finish(device, port, devices);
                port = null;
                device = value.Length > 0 ? new DeviceBuilder(value) : throw new ToolOutputException(file, n, "hca_id without a device name");
                continue;
            }

            if (device is null)
            {
                if (line.StartsWith("No IB devices found", StringComparison.Ordinal))
                {
                    continue;
                }

                throw new ToolOutputException(file, n, $"'{key}' before the first hca_id line");
            }

            if (key == "port")
            {
                if (port is not null)
                {
                    device.Ports.Add(port.Build());
                }

                port = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int number)
                    ? new PortBuilder(number)
                    : throw new ToolOutputException(file, n, $"port '{value}' is not a port number");
                continue;
            }

            if (port is null)
            {
                switch (key)
                {
                    case "fw_ver":
                        device.FirmwareVersion = value;
                        break;
                    case "board_id":
                        device.BoardId = value;
                        break;
                    case "phys_port_cnt":
                        device.PortCount = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int count)
                            ? count
                            : throw new ToolOutputException(file, n, $"phys_port_cnt '{value}' is not a number");
                        break;
                }

                continue;
            }

            switch (key)
            {
                case "state":
                    port.State = Enum(file, n, key, value);
                    break;
                case "phys_state":
                    port.PhysicalState = Enum(file, n, key, value);
                    break;
                case "active_mtu":
                    port.ActiveMtu = Enum(file, n, key, value);
                    break;
                case "link_layer":
                    port.LinkLayer = value;
                    break;
                default:
                    if (key.StartsWith("GID[", StringComparison.Ordinal) && key.EndsWith(']')
                        && int.TryParse(key.AsSpan(4, key.Length - 5).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int gid))
                    {
                        port.Gids[gid] = value;
                    }

                    break;
            }
        }

        Finish(device, port, devices);
        return new IbvDevinfo(devices);
    }

    /// <summary>"PORT_ACTIVE (4)" → (PORT_ACTIVE, 4).</summary>
    private static IbvEnum Enum(string file, int line, string key, string value)
    {
        int open = value.LastIndexOf('(');
        if (open >= 0 && value.EndsWith(')')
            && int.TryParse(value.AsSpan(open + 1, value.Length - open - 2), NumberStyles.None, CultureInfo.InvariantCulture, out int number))
        {
            return new IbvEnum(value[..open].Trim(), number);
        }

        throw new ToolOutputException(file, line, $"{key} '{value}' is not 'NAME (N)'");
    }

    private static void Finish(DeviceBuilder? device, PortBuilder? port, List<IbvDevice> devices)
    {
        if (device is null)
        {
            return;
        }

        if (port is not null)
        {
            device.Ports.Add(port.Build());
        }

        devices.Add(new IbvDevice(device.Name, device.FirmwareVersion, device.BoardId, device.PortCount, device.Ports));
    }

    private sealed class DeviceBuilder(string name)
    {
        public string Name { get; } = name;

        public string? FirmwareVersion { get; set; }

        public string? BoardId { get; set; }

        public int? PortCount { get; set; }

        public List<IbvPort> Ports { get; } = [];
    }

    private sealed class PortBuilder(int port)
    {
        public IbvEnum? State { get; set; }

        public IbvEnum? PhysicalState { get; set; }

        public IbvEnum? ActiveMtu { get; set; }

        public string? LinkLayer { get; set; }

        public Dictionary<int, string> Gids { get; } = [];

        public IbvPort Build() => new(port, State, PhysicalState, ActiveMtu, LinkLayer, Gids);
    }
}
