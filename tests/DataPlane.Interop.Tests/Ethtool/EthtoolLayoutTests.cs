using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DataPlane.Interop.Ethtool;
using Native = DataPlane.Interop.Interop.Ethtool;

namespace DataPlane.Interop.Tests.Ethtool;

/// <summary>Every ethtool/ifreq structure, field offset and constant the binding declares, against the kernel headers.</summary>
public class EthtoolLayoutTests
{
    // C field name → ethtool -C key, in structure order.
    public static readonly TheoryData<string, string> CoalesceFields = new()
    {
        { "rx_coalesce_usecs", "rx-usecs" },
        { "rx_max_coalesced_frames", "rx-frames" },
        { "rx_coalesce_usecs_irq", "rx-usecs-irq" },
        { "rx_max_coalesced_frames_irq", "rx-frames-irq" },
        { "tx_coalesce_usecs", "tx-usecs" },
        { "tx_max_coalesced_frames", "tx-frames" },
        { "tx_coalesce_usecs_irq", "tx-usecs-irq" },
        { "tx_max_coalesced_frames_irq", "tx-frames-irq" },
        { "stats_block_coalesce_usecs", "stats-block-usecs" },
        { "use_adaptive_rx_coalesce", "adaptive-rx" },
        { "use_adaptive_tx_coalesce", "adaptive-tx" },
        { "pkt_rate_low", "pkt-rate-low" },
        { "rx_coalesce_usecs_low", "rx-usecs-low" },
        { "rx_max_coalesced_frames_low", "rx-frames-low" },
        { "tx_coalesce_usecs_low", "tx-usecs-low" },
        { "tx_max_coalesced_frames_low", "tx-frames-low" },
        { "pkt_rate_high", "pkt-rate-high" },
        { "rx_coalesce_usecs_high", "rx-usecs-high" },
        { "rx_max_coalesced_frames_high", "rx-frames-high" },
        { "tx_coalesce_usecs_high", "tx-usecs-high" },
        { "tx_max_coalesced_frames_high", "tx-frames-high" },
        { "rate_sample_interval", "sample-interval" },
    };

    [Fact]
    public void Ifreq_matches_the_C_layout()
    {
        Assert.Equal(L("sizeof(struct ifreq)"), Marshal.SizeOf<Native.Ifreq>());
        Assert.Equal(L("sizeof(struct ifreq)"), Unsafe.SizeOf<Native.Ifreq>());
        Assert.Equal(L("offsetof(struct ifreq,ifr_name)"), Off<Native.Ifreq>(nameof(Native.Ifreq.Name)));
        Assert.Equal(L("offsetof(struct ifreq,ifr_data)"), Off<Native.Ifreq>(nameof(Native.Ifreq.Data)));
    }

    [Fact]
    public void Coalesce_request_has_the_C_size_and_cmd_first()
    {
        Assert.Equal(L("sizeof(struct ethtool_coalesce)"), Unsafe.SizeOf<Native.Coalesce>());
        Assert.Equal(L("offsetof(struct ethtool_coalesce,cmd)"), Off<Native.Coalesce>(nameof(Native.Coalesce.Cmd)));
        Assert.Equal(22, EthtoolCoalesce.Keys.Count);
    }

    [Theory]
    [MemberData(nameof(CoalesceFields))]
    public void Each_coalesce_key_addresses_the_C_field_of_that_name(string cField, string key)
    {
        // Set the field through its ethtool name and find where the marker landed in the native request.
        var request = new Native.Coalesce();
        request.Params.Set(key, 0xA5A5A5A5);
        Span<byte> bytes = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref request, 1));
        int at = MemoryMarshal.Cast<byte, uint>(bytes).IndexOf(0xA5A5A5A5u) * sizeof(uint);

        Assert.Equal(L($"offsetof(struct ethtool_coalesce,{cField})"), at);
        Assert.Equal(0xA5A5A5A5u, request.Params.Get(key));
    }

    [Fact]
    public void Coalesce_named_fields_sit_at_the_C_offsets()
    {
        long baseOffset = Off<Native.Coalesce>(nameof(Native.Coalesce.Params));
        Assert.Equal(L("offsetof(struct ethtool_coalesce,rx_coalesce_usecs)"), baseOffset + Off<EthtoolCoalesce>(nameof(EthtoolCoalesce.RxCoalesceUsecs)));
        Assert.Equal(L("offsetof(struct ethtool_coalesce,rx_max_coalesced_frames)"), baseOffset + Off<EthtoolCoalesce>(nameof(EthtoolCoalesce.RxMaxCoalescedFrames)));
        Assert.Equal(L("offsetof(struct ethtool_coalesce,tx_coalesce_usecs)"), baseOffset + Off<EthtoolCoalesce>(nameof(EthtoolCoalesce.TxCoalesceUsecs)));
        Assert.Equal(L("offsetof(struct ethtool_coalesce,use_adaptive_rx_coalesce)"), baseOffset + Off<EthtoolCoalesce>(nameof(EthtoolCoalesce.UseAdaptiveRxCoalesce)));
        Assert.Equal(L("offsetof(struct ethtool_coalesce,use_adaptive_tx_coalesce)"), baseOffset + Off<EthtoolCoalesce>(nameof(EthtoolCoalesce.UseAdaptiveTxCoalesce)));
        Assert.Equal(L("offsetof(struct ethtool_coalesce,pkt_rate_high)"), baseOffset + Off<EthtoolCoalesce>(nameof(EthtoolCoalesce.PktRateHigh)));
        Assert.Equal(L("offsetof(struct ethtool_coalesce,rate_sample_interval)"), baseOffset + Off<EthtoolCoalesce>(nameof(EthtoolCoalesce.RateSampleInterval)));
    }

    [Fact]
    public void Ringparam_matches_the_C_layout()
    {
        Assert.Equal(L("sizeof(struct ethtool_ringparam)"), Unsafe.SizeOf<Native.RingParam>());
        Assert.Equal(L("offsetof(struct ethtool_ringparam,cmd)"), Off<Native.RingParam>(nameof(Native.RingParam.Cmd)));
        long b = Off<Native.RingParam>(nameof(Native.RingParam.Params));
        Assert.Equal(L("offsetof(struct ethtool_ringparam,rx_max_pending)"), b + Off<EthtoolRing>(nameof(EthtoolRing.RxMaxPending)));
        Assert.Equal(L("offsetof(struct ethtool_ringparam,rx_mini_max_pending)"), b + Off<EthtoolRing>(nameof(EthtoolRing.RxMiniMaxPending)));
        Assert.Equal(L("offsetof(struct ethtool_ringparam,rx_jumbo_max_pending)"), b + Off<EthtoolRing>(nameof(EthtoolRing.RxJumboMaxPending)));
        Assert.Equal(L("offsetof(struct ethtool_ringparam,tx_max_pending)"), b + Off<EthtoolRing>(nameof(EthtoolRing.TxMaxPending)));
        Assert.Equal(L("offsetof(struct ethtool_ringparam,rx_pending)"), b + Off<EthtoolRing>(nameof(EthtoolRing.RxPending)));
        Assert.Equal(L("offsetof(struct ethtool_ringparam,rx_mini_pending)"), b + Off<EthtoolRing>(nameof(EthtoolRing.RxMiniPending)));
        Assert.Equal(L("offsetof(struct ethtool_ringparam,rx_jumbo_pending)"), b + Off<EthtoolRing>(nameof(EthtoolRing.RxJumboPending)));
        Assert.Equal(L("offsetof(struct ethtool_ringparam,tx_pending)"), b + Off<EthtoolRing>(nameof(EthtoolRing.TxPending)));
    }

    [Theory]
    [InlineData("rx", "rx_pending", "rx_max_pending")]
    [InlineData("rx-mini", "rx_mini_pending", "rx_mini_max_pending")]
    [InlineData("rx-jumbo", "rx_jumbo_pending", "rx_jumbo_max_pending")]
    [InlineData("tx", "tx_pending", "tx_max_pending")]
    public void Each_ring_key_addresses_the_C_fields_of_that_name(string key, string pendingField, string maxField)
    {
        var request = new Native.RingParam();
        request.Params.SetPending(key, 0x5A5A5A5A);
        Span<uint> words = MemoryMarshal.Cast<byte, uint>(MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref request, 1)));
        Assert.Equal(L($"offsetof(struct ethtool_ringparam,{pendingField})"), words.IndexOf(0x5A5A5A5Au) * sizeof(uint));

        int maxAt = (int)L($"offsetof(struct ethtool_ringparam,{maxField})") / sizeof(uint);
        words[maxAt] = 4096;
        Assert.Equal(4096u, request.Params.GetMax(key));
        Assert.Equal(0x5A5A5A5Au, request.Params.GetPending(key));
    }

    [Fact]
    public void Channels_matches_the_C_layout()
    {
        Assert.Equal(L("sizeof(struct ethtool_channels)"), Unsafe.SizeOf<Native.Channels>());
        long b = Off<Native.Channels>(nameof(Native.Channels.Params));
        Assert.Equal(L("offsetof(struct ethtool_channels,cmd)"), Off<Native.Channels>(nameof(Native.Channels.Cmd)));
        Assert.Equal(L("offsetof(struct ethtool_channels,max_rx)"), b + Off<EthtoolChannels>(nameof(EthtoolChannels.MaxRx)));
        Assert.Equal(L("offsetof(struct ethtool_channels,max_tx)"), b + Off<EthtoolChannels>(nameof(EthtoolChannels.MaxTx)));
        Assert.Equal(L("offsetof(struct ethtool_channels,max_other)"), b + Off<EthtoolChannels>(nameof(EthtoolChannels.MaxOther)));
        Assert.Equal(L("offsetof(struct ethtool_channels,max_combined)"), b + Off<EthtoolChannels>(nameof(EthtoolChannels.MaxCombined)));
        Assert.Equal(L("offsetof(struct ethtool_channels,rx_count)"), b + Off<EthtoolChannels>(nameof(EthtoolChannels.RxCount)));
        Assert.Equal(L("offsetof(struct ethtool_channels,tx_count)"), b + Off<EthtoolChannels>(nameof(EthtoolChannels.TxCount)));
        Assert.Equal(L("offsetof(struct ethtool_channels,other_count)"), b + Off<EthtoolChannels>(nameof(EthtoolChannels.OtherCount)));
        Assert.Equal(L("offsetof(struct ethtool_channels,combined_count)"), b + Off<EthtoolChannels>(nameof(EthtoolChannels.CombinedCount)));
    }

    [Fact]
    public void Value_sset_info_and_gstrings_match_the_C_layout()
    {
        Assert.Equal(L("sizeof(struct ethtool_value)"), Unsafe.SizeOf<Native.Value>());
        Assert.Equal(L("offsetof(struct ethtool_value,cmd)"), Off<Native.Value>(nameof(Native.Value.Cmd)));
        Assert.Equal(L("offsetof(struct ethtool_value,data)"), Off<Native.Value>(nameof(Native.Value.Data)));

        Assert.Equal(L("sizeof(struct ethtool_sset_info)"), Unsafe.SizeOf<Native.SsetInfo>());
        Assert.Equal(L("offsetof(struct ethtool_sset_info,cmd)"), Off<Native.SsetInfo>(nameof(Native.SsetInfo.Cmd)));
        Assert.Equal(L("offsetof(struct ethtool_sset_info,reserved)"), Off<Native.SsetInfo>(nameof(Native.SsetInfo.Reserved)));
        Assert.Equal(L("offsetof(struct ethtool_sset_info,sset_mask)"), Off<Native.SsetInfo>(nameof(Native.SsetInfo.SsetMask)));
        // The counts follow the header directly: the binding reads them at sizeof(header).
        Assert.Equal(L("offsetof(struct ethtool_sset_info,data)"), Unsafe.SizeOf<Native.SsetInfo>());

        Assert.Equal(L("sizeof(struct ethtool_gstrings)"), Unsafe.SizeOf<Native.Gstrings>());
        Assert.Equal(L("offsetof(struct ethtool_gstrings,cmd)"), Off<Native.Gstrings>(nameof(Native.Gstrings.Cmd)));
        Assert.Equal(L("offsetof(struct ethtool_gstrings,string_set)"), Off<Native.Gstrings>(nameof(Native.Gstrings.StringSet)));
        Assert.Equal(L("offsetof(struct ethtool_gstrings,len)"), Off<Native.Gstrings>(nameof(Native.Gstrings.Len)));
        Assert.Equal(L("offsetof(struct ethtool_gstrings,data)"), Unsafe.SizeOf<Native.Gstrings>());
    }

    [Fact]
    public void Feature_requests_match_the_C_layout()
    {
        foreach (string s in new[] { "gfeatures", "sfeatures" })
        {
            Assert.Equal(L($"sizeof(struct ethtool_{s})"), Unsafe.SizeOf<Native.FeaturesHeader>());
            Assert.Equal(L($"offsetof(struct ethtool_{s},cmd)"), Off<Native.FeaturesHeader>(nameof(Native.FeaturesHeader.Cmd)));
            Assert.Equal(L($"offsetof(struct ethtool_{s},size)"), Off<Native.FeaturesHeader>(nameof(Native.FeaturesHeader.Size)));
            Assert.Equal(L($"offsetof(struct ethtool_{s},features)"), Unsafe.SizeOf<Native.FeaturesHeader>());
        }

        Assert.Equal(L("sizeof(struct ethtool_get_features_block)"), Unsafe.SizeOf<Native.GetFeaturesBlock>());
        Assert.Equal(L("offsetof(struct ethtool_get_features_block,available)"), Off<Native.GetFeaturesBlock>(nameof(Native.GetFeaturesBlock.Available)));
        Assert.Equal(L("offsetof(struct ethtool_get_features_block,requested)"), Off<Native.GetFeaturesBlock>(nameof(Native.GetFeaturesBlock.Requested)));
        Assert.Equal(L("offsetof(struct ethtool_get_features_block,active)"), Off<Native.GetFeaturesBlock>(nameof(Native.GetFeaturesBlock.Active)));
        Assert.Equal(L("offsetof(struct ethtool_get_features_block,never_changed)"), Off<Native.GetFeaturesBlock>(nameof(Native.GetFeaturesBlock.NeverChanged)));

        Assert.Equal(L("sizeof(struct ethtool_set_features_block)"), Unsafe.SizeOf<Native.SetFeaturesBlock>());
        Assert.Equal(L("offsetof(struct ethtool_set_features_block,valid)"), Off<Native.SetFeaturesBlock>(nameof(Native.SetFeaturesBlock.Valid)));
        Assert.Equal(L("offsetof(struct ethtool_set_features_block,requested)"), Off<Native.SetFeaturesBlock>(nameof(Native.SetFeaturesBlock.Requested)));
    }

    [Fact]
    public void Drvinfo_matches_the_C_layout()
    {
        Assert.Equal(L("sizeof(struct ethtool_drvinfo)"), Unsafe.SizeOf<Native.DrvInfo>());
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,cmd)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.Cmd)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,driver)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.Driver)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,version)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.Version)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,fw_version)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.FwVersion)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,bus_info)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.BusInfo)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,erom_version)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.EromVersion)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,reserved2)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.Reserved2)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,n_priv_flags)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.NPrivFlags)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,n_stats)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.NStats)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,testinfo_len)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.TestinfoLen)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,eedump_len)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.EedumpLen)));
        Assert.Equal(L("offsetof(struct ethtool_drvinfo,regdump_len)"), Off<Native.DrvInfo>(nameof(Native.DrvInfo.RegdumpLen)));
    }

    [Fact]
    public void Constants_match_the_headers()
    {
        Assert.Equal(Native.SIOCETHTOOL, L("SIOCETHTOOL"));
        Assert.Equal(Native.IFNAMSIZ, L("IFNAMSIZ"));
        Assert.Equal(Native.ETH_GSTRING_LEN, L("ETH_GSTRING_LEN"));
        Assert.Equal(Native.ETH_SS_FEATURES, L("ETH_SS_FEATURES"));
        Assert.Equal(Native.ETHTOOL_BUSINFO_LEN, L("ETHTOOL_BUSINFO_LEN"));
        Assert.Equal(Native.ETHTOOL_GDRVINFO, L("ETHTOOL_GDRVINFO"));
        Assert.Equal(Native.ETHTOOL_GCOALESCE, L("ETHTOOL_GCOALESCE"));
        Assert.Equal(Native.ETHTOOL_SCOALESCE, L("ETHTOOL_SCOALESCE"));
        Assert.Equal(Native.ETHTOOL_GRINGPARAM, L("ETHTOOL_GRINGPARAM"));
        Assert.Equal(Native.ETHTOOL_SRINGPARAM, L("ETHTOOL_SRINGPARAM"));
        Assert.Equal(Native.ETHTOOL_GSTRINGS, L("ETHTOOL_GSTRINGS"));
        Assert.Equal(Native.ETHTOOL_GSSET_INFO, L("ETHTOOL_GSSET_INFO"));
        Assert.Equal(Native.ETHTOOL_GFEATURES, L("ETHTOOL_GFEATURES"));
        Assert.Equal(Native.ETHTOOL_SFEATURES, L("ETHTOOL_SFEATURES"));
        Assert.Equal(Native.ETHTOOL_GCHANNELS, L("ETHTOOL_GCHANNELS"));
        Assert.Equal(Native.ETHTOOL_F_UNSUPPORTED, L("ETHTOOL_F_UNSUPPORTED"));
        Assert.Equal(Native.ETHTOOL_F_WISH, L("ETHTOOL_F_WISH"));
        Assert.Equal(Native.ETHTOOL_F_COMPAT, L("ETHTOOL_F_COMPAT"));
        Assert.Equal((long)EthtoolFeatureChange.Unsupported, L("ETHTOOL_F_UNSUPPORTED"));
        Assert.Equal((long)EthtoolFeatureChange.Wish, L("ETHTOOL_F_WISH"));
        Assert.Equal((long)EthtoolFeatureChange.Compat, L("ETHTOOL_F_COMPAT"));

        Assert.Equal(Interop.Libc.AF_INET, L("AF_INET"));
        Assert.Equal(Interop.Libc.SOCK_DGRAM, L("SOCK_DGRAM"));
        Assert.Equal(Interop.Libc.SOCK_CLOEXEC, L("SOCK_CLOEXEC"));
    }

    [Theory]
    [InlineData("EPERM", Interop.Libc.EPERM)]
    [InlineData("ENOENT", Interop.Libc.ENOENT)]
    [InlineData("EIO", Interop.Libc.EIO)]
    [InlineData("E2BIG", Interop.Libc.E2BIG)]
    [InlineData("EBADF", Interop.Libc.EBADF)]
    [InlineData("ENOMEM", Interop.Libc.ENOMEM)]
    [InlineData("EACCES", Interop.Libc.EACCES)]
    [InlineData("EFAULT", Interop.Libc.EFAULT)]
    [InlineData("EBUSY", Interop.Libc.EBUSY)]
    [InlineData("ENODEV", Interop.Libc.ENODEV)]
    [InlineData("EINVAL", Interop.Libc.EINVAL)]
    [InlineData("ENOTTY", Interop.Libc.ENOTTY)]
    [InlineData("ERANGE", Interop.Libc.ERANGE)]
    [InlineData("EOPNOTSUPP", Interop.Libc.EOPNOTSUPP)]
    public void Errno_values_match_the_headers_and_have_their_names(string name, int value)
    {
        Assert.Equal(L(name), value);
        Assert.Equal(name, Interop.Libc.ErrnoName(value));
    }

    private static long L(string name) => EthtoolNativeLayout.Value(name);

    private static long Off<T>(string field) => Marshal.OffsetOf<T>(field);
}
