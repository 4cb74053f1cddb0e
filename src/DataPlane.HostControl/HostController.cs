using DataPlane.Hosting.Systemd;
using DataPlane.Interop.Threading;
using DataPlane.Topology;
using DataPlane.Topology.Gpus;
using DataPlane.Topology.Model;
using DataPlane.Tuning.Plans;
using DataPlane.Tuning.Profiles;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace DataPlane.HostControl;

/// <summary>The daemon's host control: at start it rolls back an interrupted tuning apply, applies the profile when
/// configured, pins hot threads and locks memory; while running it exports topology, NVLink counters, IRQ-affinity
/// correctness and tuning drift as metrics (refreshed at most every <see cref="HostControlOptions.RefreshInterval"/>,
/// on scrape) and as JSON on the admin listener.</summary>
public sealed partial class HostController
{
    private readonly HostControlOptions _options;
    private readonly NvmlGpuSource _gpus;
    private readonly ILogger _log;
    private readonly object _gate = new();
    private readonly Gauge _gpuInfo;
    private readonly Gauge _nvlinkUp;
    private readonly Counter _nvlinkTx;
    private readonly Counter _nvlinkRx;
    private readonly Gauge _nvlinkSpeed;
    private readonly Gauge _irqOk;
    private readonly Gauge _drift;
    private readonly Gauge _driftCount;
    private readonly Gauge _hotThreads;
    private readonly Gauge _tuningApplied;
    private readonly Gauge _ibState;
    private readonly Gauge _ibPhysicalState;
    private readonly Gauge _ibRate;
    private readonly Dictionary<string, Counter> _ibCounters = new(StringComparer.Ordinal);
    private HostTopology? _topology;
    private TuningSetup? _setup;
    private IReadOnlyList<TuningChange> _lastPlan = [];
    private long? _refreshedAt;

    private HostController(HostControlOptions options, CollectorRegistry registry, ILogger log)
    {
        _options = options;
        _gpus = new NvmlGpuSource(options.NvmlLibrary);
        _log = log;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        _gpuInfo = f.CreateGauge("dataplane_gpu_info", "GPUs NVML reports (value 1); labels as dcgm-exporter's so PromQL joins work.",
            "gpu", "UUID", "pci_bus_id", "modelName", "numa_node");
        _nvlinkUp = f.CreateGauge("dataplane_nvlink_up", "NVLink state per link: 1 active, 0 down.", "gpu", "UUID", "link");
        _nvlinkTx = f.CreateCounter("dataplane_nvlink_transmit_bytes_total", "NVLink data transmitted per link (NVML throughput counter, KiB x 1024).", "gpu", "UUID", "link");
        _nvlinkRx = f.CreateCounter("dataplane_nvlink_receive_bytes_total", "NVLink data received per link (NVML throughput counter, KiB x 1024).", "gpu", "UUID", "link");
        _nvlinkSpeed = f.CreateGauge("dataplane_nvlink_speed_bytes_per_second", "NVLink speed per link and direction (NVML field 164, MBps x 10^6); 0 while the link is down.", "gpu", "UUID", "link");
        _irqOk = f.CreateGauge("dataplane_irq_affinity_ok", "1 when a data-path NIC queue IRQ runs on the CPU the profile assigns, else 0.", "device", "irq", "queue");
        _drift = f.CreateGauge("dataplane_tuning_drift", "1 when a setting of the tuning profile differs from the host, else 0.", "kind", "target", "key");
        _driftCount = f.CreateGauge("dataplane_tuning_drift_settings", "Settings of the tuning profile that differ from the host.");
        _hotThreads = f.CreateGauge("dataplane_hot_threads_pinned", "Hot threads (batch dispatch) pinned to reserved CPUs.");
        _tuningApplied = f.CreateGauge("dataplane_tuning_applied", "1 when the daemon applied the tuning profile at start and every setting took.");
        _ibState = f.CreateGauge("dataplane_infiniband_state_id", "RDMA port state (4 = ACTIVE), as node_exporter's node_infiniband_state_id.", "device", "port");
        _ibPhysicalState = f.CreateGauge("dataplane_infiniband_physical_state_id", "RDMA port physical state (5 = LinkUp).", "device", "port");
        _ibRate = f.CreateGauge("dataplane_infiniband_rate_bytes_per_second", "RDMA port rate.", "device", "port");
        foreach (var (file, name, help) in s_ibCounters)
        {
            _ibCounters[file] = f.CreateCounter(name, help + " (sysfs " + file + ").", "device", "port");
        }

        registry.AddBeforeCollectCallback(Refresh);
    }

    /// <summary>sysfs counter files and the names node_exporter's infiniband collector gives them (with our prefix), so
    /// dashboards built for node_infiniband_* work by swapping the prefix. hw_counters are prefixed "hw/".</summary>
    private static readonly (string File, string Name, string Help)[] s_ibCounters =
    [
        ("port_rcv_data", "dataplane_infiniband_port_data_received_bytes_total", "Bytes received on the port (RoCE traffic on mlx5)"),
        ("port_xmit_data", "dataplane_infiniband_port_data_transmitted_bytes_total", "Bytes transmitted on the port"),
        ("port_rcv_packets", "dataplane_infiniband_port_packets_received_total", "Packets received"),
        ("port_xmit_packets", "dataplane_infiniband_port_packets_transmitted_total", "Packets transmitted"),
        ("port_rcv_errors", "dataplane_infiniband_port_errors_received_total", "Received packets with errors"),
        ("port_rcv_discards", "dataplane_infiniband_port_discards_received_total", "Received packets discarded"),
        ("port_xmit_discards", "dataplane_infiniband_port_discards_transmitted_total", "Outbound packets discarded"),
        ("port_xmit_wait", "dataplane_infiniband_port_transmit_wait_total", "Ticks with data to send but no credits"),
        ("link_downed", "dataplane_infiniband_link_downed_total", "Times the link went down"),
        ("link_error_recovery", "dataplane_infiniband_link_error_recovery_total", "Link error recoveries"),
        ("symbol_error", "dataplane_infiniband_symbol_error_total", "Symbol errors"),
        ("hw/out_of_sequence", "dataplane_infiniband_out_of_sequence_packets_received_total", "Out-of-sequence packets received"),
        ("hw/packet_seq_err", "dataplane_infiniband_packet_sequence_errors_total", "Packet sequence errors"),
        ("hw/local_ack_timeout_err", "dataplane_infiniband_local_ack_timeout_errors_total", "Local ACK timeouts"),
        ("hw/rnr_nak_retry_err", "dataplane_infiniband_rnr_nak_retry_packets_received_total", "RNR NAK retries"),
        ("hw/out_of_buffer", "dataplane_infiniband_out_of_buffer_drops_total", "Drops for lack of receive WQEs"),
        ("hw/np_cnp_sent", "dataplane_infiniband_np_cnp_packets_sent_total", "Congestion notification packets sent (DCQCN)"),
        ("hw/rp_cnp_handled", "dataplane_infiniband_rp_cnp_packets_handled_total", "Congestion notification packets handled (DCQCN)"),
        ("hw/np_ecn_marked_roce_packets", "dataplane_infiniband_np_ecn_marked_roce_packets_received_total", "ECN-marked RoCE packets received"),
        ("hw/req_remote_access_errors", "dataplane_infiniband_req_remote_access_errors_total", "Remote access errors on requests"),
        ("hw/resp_remote_access_errors", "dataplane_infiniband_resp_remote_access_errors_total", "Remote access errors on responses"),
    ];

    /// <summary>The last topology seen (null when discovery is off).</summary>
    public HostTopology? Topology
    {
        get
        {
            Refresh();
            lock (_gate)
            {
                return _topology;
            }
        }
    }

    /// <summary>The profile's settings as last verified (empty without a profile).</summary>
    public PlanDocument? TuningState
    {
        get
        {
            Refresh();
            lock (_gate)
            {
                return _setup is null ? null : new PlanDocument(_options.Profile!.Name, "verify", _setup.Facts, _lastPlan);
            }
        }
    }

    /// <summary>Runs the start-up steps; failures of tuning are logged and never stop the daemon from serving.</summary>
    public static HostController Start(HostControlOptions options, CollectorRegistry registry, ILogger log)
    {
        var control = new HostController(options, registry, log);
        control.StartUp();
        return control;
    }

    private void StartUp()
    {
        if (_options.LockMemory)
        {
            int errno = Privileges.TryLockAllMemory();
            if (errno != 0)
            {
                Log.LockMemoryFailed(_log, errno);
            }
        }

        if (!_options.TopologyEnabled && _options.Profile is null && _options.HotCpus is null)
        {
            return;
        }

        // NVML initialisation and the first tuning pass can take tens of seconds on a large host: ask systemd for more
        // start-up time rather than being killed by TimeoutStartSec= (no-op when not run by systemd).
        SystemdNotifier.Process.ExtendTimeout(StartUpExtension, "discovering host topology (NVML) and applying tuning");
        var topology = Discover();
        var snapshotProfile = SafeLoad(new SnapshotStore(_options.RunDirectory));
        var profile = _options.Profile ?? (snapshotProfile is { Complete: false } ? TuningProfile.All.FirstOrDefault(p => p.Name == snapshotProfile.Profile) : null);
        TuningSetup? setup = null;
        if (profile is not null)
        {
            try
            {
                setup = TuningSetup.Create(_options.TuningFor(profile), topology, _options.Roots);
                var recovered = setup.Engine.RecoverInterrupted();
                if (recovered is not null)
                {
                    Log.RolledBackInterrupted(_log, recovered.Count(OutcomeState.Done), recovered.Count(OutcomeState.Failed), setup.Engine.Store.Path);
                }

                if (_options.ApplyAtStart)
                {
                    var report = setup.Engine.Apply();
                    foreach (var failed in report.Outcomes.Where(o => o.State == OutcomeState.Failed))
                    {
                        Log.TuningFailed(_log, failed.Kind, failed.Target, failed.Key, failed.Note ?? "");
                    }

                    _tuningApplied.Set(report.Succeeded ? 1 : 0);
                    Log.TuningApplied(_log, profile.Name, report.Count(OutcomeState.Done), report.Count(OutcomeState.Skipped),
                        report.Count(OutcomeState.Unsupported), report.Count(OutcomeState.Failed), setup.Engine.Store.Path);
                }
            }
            catch (Exception e) when (e is TuningException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                Log.TuningUnavailable(_log, profile.Name, e.Message);
                setup = null;
            }
        }

        var hot = _options.HotCpus ?? (_options.ApplyAtStart ? setup?.HotCpus : null) ?? CpuSet.Empty;
        if (!hot.IsEmpty)
        {
            HotThreads.Configure(hot.Cpus);
            Log.HotCpus(_log, hot.ToList());
        }

        lock (_gate)
        {
            _topology = _options.TopologyEnabled ? topology : null;
            _setup = _options.Profile is null ? null : setup;
        }

        if (_options.TopologyEnabled)
        {
            Log.TopologySeen(_log, topology.Gpus.Gpus.Count, topology.Nics.Count, topology.Gpus.Problem ?? "NVML answered");
        }
    }

    /// <summary>How much start-up time is asked of systemd before topology discovery and tuning.</summary>
    private static readonly TimeSpan StartUpExtension = TimeSpan.FromSeconds(90);

    private HostTopology Discover() => TopologyDiscovery.Discover(_options.Roots, _gpus);

    private Snapshot? SafeLoad(SnapshotStore store)
    {
        try
        {
            return store.Load();
        }
        catch (TuningException e)
        {
            Log.TuningUnavailable(_log, "snapshot", e.Message);
            return null;
        }
    }

    /// <summary>Re-reads topology and drift when the last read is older than the refresh interval, then sets the metrics.</summary>
    private void Refresh()
    {
        long now = Environment.TickCount64;
        lock (_gate)
        {
            if (_refreshedAt is long last && now - last < _options.RefreshInterval.TotalMilliseconds)
            {
                return;
            }

            _refreshedAt = now;
            try
            {
                if (_options.TopologyEnabled)
                {
                    _topology = Discover();
                    Export(_topology);
                    ExportRdmaPorts(DataPlane.Topology.Sysfs.RdmaPortReader.Read(_options.Roots));
                }

                if (_setup is not null)
                {
                    _lastPlan = _setup.Engine.Plan();
                    ExportDrift(_lastPlan);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or TuningException or FormatException)
            {
                Log.RefreshFailed(_log, e.Message);
            }

            _hotThreads.Set(HotThreads.Pinned);
        }
    }

    private void Export(HostTopology topology)
    {
        foreach (var gpu in topology.Gpus.Gpus)
        {
            string index = gpu.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _gpuInfo.WithLabels(index, gpu.Uuid, gpu.Pci.ToNvmlString(), gpu.Name, gpu.NumaNode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "").Set(1);
            foreach (var link in gpu.Links)
            {
                string l = link.Link.ToString(System.Globalization.CultureInfo.InvariantCulture);
                _nvlinkUp.WithLabels(index, gpu.Uuid, l).Set(link.Active ? 1 : 0);
                if (link.TxBytes is ulong tx)
                {
                    _nvlinkTx.WithLabels(index, gpu.Uuid, l).IncTo(tx);
                }

                if (link.RxBytes is ulong rx)
                {
                    _nvlinkRx.WithLabels(index, gpu.Uuid, l).IncTo(rx);
                }

                if (link.SpeedBytesPerSecond is ulong speed)
                {
                    _nvlinkSpeed.WithLabels(index, gpu.Uuid, l).Set(speed);
                }
            }
        }
    }

    private void ExportRdmaPorts(IReadOnlyList<DataPlane.Topology.Sysfs.RdmaPort> ports)
    {
        foreach (var port in ports)
        {
            string p = port.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            SetIfKnown(_ibState, port.State, port.Device, p);
            SetIfKnown(_ibPhysicalState, port.PhysicalState, port.Device, p);
            SetIfKnown(_ibRate, port.RateBytesPerSecond, port.Device, p);
            foreach (var (file, counter) in _ibCounters)
            {
                var source = file.StartsWith("hw/", StringComparison.Ordinal) ? port.HwCounters : port.Counters;
                if (source.TryGetValue(file.StartsWith("hw/", StringComparison.Ordinal) ? file[3..] : file, out ulong value))
                {
                    counter.WithLabels(port.Device, p).IncTo(value);
                }
            }
        }

        static void SetIfKnown(Gauge gauge, double? value, string device, string port)
        {
            if (value is double v)
            {
                gauge.WithLabels(device, port).Set(v);
            }
        }
    }

    private void ExportDrift(IReadOnlyList<TuningChange> plan)
    {
        int drifted = 0;
        foreach (var change in plan.Where(c => c.State is ChangeState.InPlace or ChangeState.Differs))
        {
            int value = change.State == ChangeState.Differs ? 1 : 0;
            drifted += value;
            var irq = change.Kind == Tuning.Irq.IrqAffinityTuner.Kind
                ? _setup!.IrqAssignments.FirstOrDefault(a => Tuning.Irq.IrqAffinityTuner.TargetOf(a.Irq) == change.Target)
                : null;
            if (irq is not null)
            {
                _irqOk.WithLabels(irq.Device, irq.Irq.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    irq.Queue?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "").Set(1 - value);
            }
            else
            {
                _drift.WithLabels(change.Kind, change.Target, change.Key).Set(value);
            }
        }

        _driftCount.Set(drifted);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Host topology: {Gpus} GPU(s), {Nics} NIC(s); {Nvml}")]
        public static partial void TopologySeen(ILogger logger, int gpus, int nics, string nvml);

        [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Rolled back an interrupted tuning apply: {Restored} setting(s) restored, {Failed} failed ({Snapshot})")]
        public static partial void RolledBackInterrupted(ILogger logger, int restored, int failed, string snapshot);

        [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "Tuning profile {Profile} applied: {Done} changed, {Skipped} already in place, {Unsupported} unsupported, {Failed} failed; rollback snapshot {Snapshot}")]
        public static partial void TuningApplied(ILogger logger, string profile, int done, int skipped, int unsupported, int failed, string snapshot);

        [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Tuning {Kind} {Target} {Key} failed: {Reason}")]
        public static partial void TuningFailed(ILogger logger, string kind, string target, string key, string reason);

        [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "Tuning ({Profile}) unavailable: {Reason}")]
        public static partial void TuningUnavailable(ILogger logger, string profile, string reason);

        [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "Hot threads pinned to reserved CPUs {Cpus}")]
        public static partial void HotCpus(ILogger logger, string cpus);

        [LoggerMessage(EventId = 306, Level = LogLevel.Warning, Message = "mlockall failed (errno {Errno}): memory stays pageable; give the service CAP_IPC_LOCK or LimitMEMLOCK=infinity")]
        public static partial void LockMemoryFailed(ILogger logger, int errno);

        [LoggerMessage(EventId = 307, Level = LogLevel.Warning, Message = "Refreshing topology or drift failed: {Reason}")]
        public static partial void RefreshFailed(ILogger logger, string reason);
    }
}
