/*
 * Prints the sizes, field offsets and constants of the SIOCETHTOOL ABI that DataPlane.Interop declares
 * (struct ifreq and the ethtool command structures), as "name value" lines. The interop tests compile
 * and run this program against the installed kernel headers and compare every line with the managed
 * declarations.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#define SIZE(t) printf("sizeof(" #t ") %zu\n", sizeof(t))
#define OFFSET(t, f) printf("offsetof(" #t "," #f ") %zu\n", offsetof(t, f))
#define CONST(c) printf(#c " %ld\n", (long)(c))

int main(void)
{
    SIZE(struct ifreq);
    OFFSET(struct ifreq, ifr_name);
    OFFSET(struct ifreq, ifr_data);

    SIZE(struct ethtool_coalesce);
    OFFSET(struct ethtool_coalesce, cmd);
    OFFSET(struct ethtool_coalesce, rx_coalesce_usecs);
    OFFSET(struct ethtool_coalesce, rx_max_coalesced_frames);
    OFFSET(struct ethtool_coalesce, rx_coalesce_usecs_irq);
    OFFSET(struct ethtool_coalesce, rx_max_coalesced_frames_irq);
    OFFSET(struct ethtool_coalesce, tx_coalesce_usecs);
    OFFSET(struct ethtool_coalesce, tx_max_coalesced_frames);
    OFFSET(struct ethtool_coalesce, tx_coalesce_usecs_irq);
    OFFSET(struct ethtool_coalesce, tx_max_coalesced_frames_irq);
    OFFSET(struct ethtool_coalesce, stats_block_coalesce_usecs);
    OFFSET(struct ethtool_coalesce, use_adaptive_rx_coalesce);
    OFFSET(struct ethtool_coalesce, use_adaptive_tx_coalesce);
    OFFSET(struct ethtool_coalesce, pkt_rate_low);
    OFFSET(struct ethtool_coalesce, rx_coalesce_usecs_low);
    OFFSET(struct ethtool_coalesce, rx_max_coalesced_frames_low);
    OFFSET(struct ethtool_coalesce, tx_coalesce_usecs_low);
    OFFSET(struct ethtool_coalesce, tx_max_coalesced_frames_low);
    OFFSET(struct ethtool_coalesce, pkt_rate_high);
    OFFSET(struct ethtool_coalesce, rx_coalesce_usecs_high);
    OFFSET(struct ethtool_coalesce, rx_max_coalesced_frames_high);
    OFFSET(struct ethtool_coalesce, tx_coalesce_usecs_high);
    OFFSET(struct ethtool_coalesce, tx_max_coalesced_frames_high);
    OFFSET(struct ethtool_coalesce, rate_sample_interval);

    SIZE(struct ethtool_ringparam);
    OFFSET(struct ethtool_ringparam, cmd);
    OFFSET(struct ethtool_ringparam, rx_max_pending);
    OFFSET(struct ethtool_ringparam, rx_mini_max_pending);
    OFFSET(struct ethtool_ringparam, rx_jumbo_max_pending);
    OFFSET(struct ethtool_ringparam, tx_max_pending);
    OFFSET(struct ethtool_ringparam, rx_pending);
    OFFSET(struct ethtool_ringparam, rx_mini_pending);
    OFFSET(struct ethtool_ringparam, rx_jumbo_pending);
    OFFSET(struct ethtool_ringparam, tx_pending);

    SIZE(struct ethtool_channels);
    OFFSET(struct ethtool_channels, cmd);
    OFFSET(struct ethtool_channels, max_rx);
    OFFSET(struct ethtool_channels, max_tx);
    OFFSET(struct ethtool_channels, max_other);
    OFFSET(struct ethtool_channels, max_combined);
    OFFSET(struct ethtool_channels, rx_count);
    OFFSET(struct ethtool_channels, tx_count);
    OFFSET(struct ethtool_channels, other_count);
    OFFSET(struct ethtool_channels, combined_count);

    SIZE(struct ethtool_value);
    OFFSET(struct ethtool_value, cmd);
    OFFSET(struct ethtool_value, data);

    SIZE(struct ethtool_sset_info);
    OFFSET(struct ethtool_sset_info, cmd);
    OFFSET(struct ethtool_sset_info, reserved);
    OFFSET(struct ethtool_sset_info, sset_mask);
    OFFSET(struct ethtool_sset_info, data);

    SIZE(struct ethtool_gstrings);
    OFFSET(struct ethtool_gstrings, cmd);
    OFFSET(struct ethtool_gstrings, string_set);
    OFFSET(struct ethtool_gstrings, len);
    OFFSET(struct ethtool_gstrings, data);

    SIZE(struct ethtool_gfeatures);
    OFFSET(struct ethtool_gfeatures, cmd);
    OFFSET(struct ethtool_gfeatures, size);
    OFFSET(struct ethtool_gfeatures, features);
    SIZE(struct ethtool_get_features_block);
    OFFSET(struct ethtool_get_features_block, available);
    OFFSET(struct ethtool_get_features_block, requested);
    OFFSET(struct ethtool_get_features_block, active);
    OFFSET(struct ethtool_get_features_block, never_changed);

    SIZE(struct ethtool_sfeatures);
    OFFSET(struct ethtool_sfeatures, cmd);
    OFFSET(struct ethtool_sfeatures, size);
    OFFSET(struct ethtool_sfeatures, features);
    SIZE(struct ethtool_set_features_block);
    OFFSET(struct ethtool_set_features_block, valid);
    OFFSET(struct ethtool_set_features_block, requested);

    SIZE(struct ethtool_drvinfo);
    OFFSET(struct ethtool_drvinfo, cmd);
    OFFSET(struct ethtool_drvinfo, driver);
    OFFSET(struct ethtool_drvinfo, version);
    OFFSET(struct ethtool_drvinfo, fw_version);
    OFFSET(struct ethtool_drvinfo, bus_info);
    OFFSET(struct ethtool_drvinfo, erom_version);
    OFFSET(struct ethtool_drvinfo, reserved2);
    OFFSET(struct ethtool_drvinfo, n_priv_flags);
    OFFSET(struct ethtool_drvinfo, n_stats);
    OFFSET(struct ethtool_drvinfo, testinfo_len);
    OFFSET(struct ethtool_drvinfo, eedump_len);
    OFFSET(struct ethtool_drvinfo, regdump_len);

    CONST(SIOCETHTOOL);
    CONST(IFNAMSIZ);
    CONST(ETH_GSTRING_LEN);
    CONST(ETH_SS_FEATURES);
    CONST(ETHTOOL_BUSINFO_LEN);
    CONST(ETHTOOL_GDRVINFO);
    CONST(ETHTOOL_GCOALESCE);
    CONST(ETHTOOL_SCOALESCE);
    CONST(ETHTOOL_GRINGPARAM);
    CONST(ETHTOOL_SRINGPARAM);
    CONST(ETHTOOL_GSTRINGS);
    CONST(ETHTOOL_GSSET_INFO);
    CONST(ETHTOOL_GFEATURES);
    CONST(ETHTOOL_SFEATURES);
    CONST(ETHTOOL_GCHANNELS);
    CONST(ETHTOOL_F_UNSUPPORTED);
    CONST(ETHTOOL_F_WISH);
    CONST(ETHTOOL_F_COMPAT);

    CONST(AF_INET);
    CONST(SOCK_DGRAM);
    CONST(SOCK_CLOEXEC);

    CONST(EPERM);
    CONST(ENOENT);
    CONST(EIO);
    CONST(E2BIG);
    CONST(EBADF);
    CONST(ENOMEM);
    CONST(EACCES);
    CONST(EFAULT);
    CONST(EBUSY);
    CONST(ENODEV);
    CONST(EINVAL);
    CONST(ENOTTY);
    CONST(ERANGE);
    CONST(EOPNOTSUPP);
    return 0;
}
