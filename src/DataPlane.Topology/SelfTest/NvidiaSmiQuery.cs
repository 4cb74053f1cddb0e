using System.Globalization;
using System.Xml;
using DataPlane.Topology.Model;

namespace DataPlane.Topology.SelfTest;

/// <summary>One <c>&lt;gpu&gt;</c> of <c>nvidia-smi -q -x</c>, in the order nvidia-smi lists them (its index order).</summary>
/// <param name="BusId">The <c>pci/pci_bus_id</c> (or the element's <c>id</c> attribute), as printed.</param>
/// <param name="Pci">The same, parsed.</param>
/// <param name="Name"><c>product_name</c>, null when absent.</param>
/// <param name="Uuid"><c>uuid</c>, null when absent.</param>
/// <param name="Line">The line of the <c>&lt;gpu&gt;</c> element.</param>
public sealed record NvidiaSmiGpu(string BusId, PciAddress Pci, string? Name, string? Uuid, int Line);

/// <summary>What <c>nvidia-smi -q -x</c> printed that the self-test compares: the driver version, the GPU count and each
/// GPU's PCI address, name and UUID. The XML carries no NVLink state; that is <c>nvidia-smi nvlink -s</c>
/// (<see cref="NvidiaSmiNvLink"/>).</summary>
/// <param name="DriverVersion"><c>driver_version</c>, null when absent.</param>
/// <param name="AttachedGpus"><c>attached_gpus</c>, null when absent.</param>
/// <param name="Gpus">The <c>&lt;gpu&gt;</c> elements in order.</param>
public sealed record NvidiaSmiQuery(string? DriverVersion, int? AttachedGpus, IReadOnlyList<NvidiaSmiGpu> Gpus)
{
    /// <summary>Reads <paramref name="file"/>.</summary>
    public static NvidiaSmiQuery Read(string file) => Parse(file, ToolText.ReadAll(file));

    /// <summary>Parses the XML of <c>nvidia-smi -q -x</c>; <paramref name="file"/> names it in errors. The DOCTYPE's DTD
    /// (<c>nvsmi_device_v12.dtd</c>) is not fetched.</summary>
    public static NvidiaSmiQuery Parse(string file, string text)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Ignore,
            XmlResolver = null,
            IgnoreComments = true,
            IgnoreWhitespace = true,
            IgnoreProcessingInstructions = true,
        };

        try
        {
            using var reader = XmlReader.Create(new StringReader(text), settings);
            if (reader.MoveToContent() != XmlNodeType.Element || reader.LocalName != "nvidia_smi_log")
            {
                throw new ToolOutputException(file, LineOf(reader), $"the root element is '{reader.LocalName}', not nvidia_smi_log");
            }

            string? driver = null;
            int? attached = null;
            var gpus = new List<NvidiaSmiGpu>();
            if (reader.IsEmptyElement)
            {
                return new NvidiaSmiQuery(null, null, gpus);
            }

            reader.Read();
            while (reader.NodeType != XmlNodeType.EndElement && !reader.EOF)
            {
                if (reader.NodeType != XmlNodeType.Element)
                {
                    reader.Read();
                    continue;
                }

                switch (reader.LocalName)
                {
                    case "driver_version":
                        driver = reader.ReadElementContentAsString().Trim();
                        break;
                    case "attached_gpus":
                        int line = LineOf(reader);
                        string count = reader.ReadElementContentAsString().Trim();
                        attached = int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int n)
                            ? n
                            : throw new ToolOutputException(file, line, $"attached_gpus '{count}' is not a number");
                        break;
                    case "gpu":
                        gpus.Add(ReadGpu(file, reader));
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            return new NvidiaSmiQuery(driver, attached, gpus);
        }
        catch (XmlException e)
        {
            throw new ToolOutputException(file, e.LineNumber > 0 ? e.LineNumber : null, $"not the XML of nvidia-smi -q -x ({e.Message})");
        }
    }

    private static NvidiaSmiGpu ReadGpu(string file, XmlReader reader)
    {
        int line = LineOf(reader);
        string? id = reader.GetAttribute("id");
        string? busId = null, name = null, uuid = null;
        using (var gpu = reader.ReadSubtree())
        {
            gpu.Read();
            gpu.Read();
            while (!gpu.EOF)
            {
                if (gpu.NodeType != XmlNodeType.Element || gpu.Depth != 1)
                {
                    gpu.Read();
                    continue;
                }

                switch (gpu.LocalName)
                {
                    case "product_name":
                        name = gpu.ReadElementContentAsString().Trim();
                        break;
                    case "uuid":
                        uuid = gpu.ReadElementContentAsString().Trim();
                        break;
                    case "pci":
                        busId = ReadPciBusId(gpu.ReadSubtree()) ?? busId;
                        gpu.Skip();
                        break;
                    default:
                        gpu.Skip();
                        break;
                }
            }
        }

        // ReadSubtree leaves the outer reader on the gpu's end element.
        reader.Read();
        busId ??= id;
        if (busId is null)
        {
            throw new ToolOutputException(file, line, "a <gpu> without pci/pci_bus_id or an id attribute");
        }

        return PciAddress.TryParse(busId, out var pci)
            ? new NvidiaSmiGpu(busId, pci, name, uuid, line)
            : throw new ToolOutputException(file, line, $"pci_bus_id '{busId}' is not a PCI address");
    }

    private static string? ReadPciBusId(XmlReader pci)
    {
        using (pci)
        {
            while (pci.Read())
            {
                if (pci.NodeType == XmlNodeType.Element && pci.Depth == 1 && pci.LocalName == "pci_bus_id")
                {
                    return pci.ReadElementContentAsString().Trim();
                }
            }
        }

        return null;
    }

    private static int LineOf(XmlReader reader) => reader is IXmlLineInfo info && info.HasLineInfo() ? info.LineNumber : 0;
}
