using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Verbs
    {
        /// <summary>The exported (control-path) verbs of a loaded libibverbs, resolved into unmanaged function pointers
        /// by their default-version names (what dlsym returns). Pointer-returning verbs report failure as NULL with
        /// errno set (read it with <see cref="Marshal.GetLastSystemError"/> right after the call, having cleared it
        /// before); int-returning verbs return 0 or an errno value. The data-path verbs (post_send, post_recv, poll_cq,
        /// req_notify_cq) are static inline in verbs.h and not exported: see <see cref="ContextOps"/>.</summary>
        internal sealed unsafe class Exports
        {
            /// <summary>struct ibv_device **ibv_get_device_list(int *num_devices); NULL with errno (ENOSYS without
            /// kernel support), or a NULL-terminated list.</summary>
            internal readonly delegate* unmanaged<int*, nint*> GetDeviceList;

            /// <summary>void ibv_free_device_list(struct ibv_device **list).</summary>
            internal readonly delegate* unmanaged<nint*, void> FreeDeviceList;

            /// <summary>struct ibv_context *ibv_open_device(struct ibv_device *device); NULL with errno.</summary>
            internal readonly delegate* unmanaged<nint, nint> OpenDevice;

            /// <summary>int ibv_close_device(struct ibv_context *context).</summary>
            internal readonly delegate* unmanaged<nint, int> CloseDevice;

            /// <summary>int ibv_query_device(struct ibv_context *, struct ibv_device_attr *).</summary>
            internal readonly delegate* unmanaged<nint, IbvDeviceAttr*, int> QueryDevice;

            /// <summary>int ibv_query_port(struct ibv_context *, uint8_t port, struct _compat_ibv_port_attr *): the
            /// exported compat symbol, which fills the first 48 bytes of struct ibv_port_attr (verbs.h's
            /// ibv_query_port is a macro over an inline that calls it as its fallback).</summary>
            internal readonly delegate* unmanaged<nint, byte, IbvPortAttr*, int> QueryPort;

            /// <summary>int ibv_query_gid(struct ibv_context *, uint8_t port, int index, union ibv_gid *); 0 and a
            /// zero GID for an empty slot.</summary>
            internal readonly delegate* unmanaged<nint, byte, int, byte*, int> QueryGid;

            /// <summary>int _ibv_query_gid_ex(struct ibv_context *, uint32_t port, uint32_t index,
            /// struct ibv_gid_entry *, uint32_t flags, size_t entry_size) (rdma-core 32+, IBVERBS_1.11); ENODATA for
            /// an empty slot. Null on older libraries, which then read the GID type from sysfs.</summary>
            internal readonly delegate* unmanaged<nint, uint, uint, IbvGidEntry*, uint, nuint, int> QueryGidEx;

            /// <summary>struct ibv_pd *ibv_alloc_pd(struct ibv_context *); NULL with errno.</summary>
            internal readonly delegate* unmanaged<nint, nint> AllocPd;

            /// <summary>int ibv_dealloc_pd(struct ibv_pd *).</summary>
            internal readonly delegate* unmanaged<nint, int> DeallocPd;

            /// <summary>struct ibv_mr *ibv_reg_mr(struct ibv_pd *, void *addr, size_t length, int access); NULL with
            /// errno. The export; verbs.h's ibv_reg_mr is a macro that prefers ibv_reg_mr_iova2.</summary>
            internal readonly delegate* unmanaged<nint, nint, nuint, int, nint> RegMr;

            /// <summary>struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *, void *addr, size_t length, uint64_t iova,
            /// unsigned int access) (rdma-core 28+, IBVERBS_1.8): masks optional access bits the device lacks. Null on
            /// older libraries.</summary>
            internal readonly delegate* unmanaged<nint, nint, nuint, ulong, uint, nint> RegMrIova2;

            /// <summary>int ibv_dereg_mr(struct ibv_mr *).</summary>
            internal readonly delegate* unmanaged<nint, int> DeregMr;

            /// <summary>struct ibv_comp_channel *ibv_create_comp_channel(struct ibv_context *); NULL with errno.</summary>
            internal readonly delegate* unmanaged<nint, nint> CreateCompChannel;

            /// <summary>int ibv_destroy_comp_channel(struct ibv_comp_channel *); EBUSY while CQs use it.</summary>
            internal readonly delegate* unmanaged<nint, int> DestroyCompChannel;

            /// <summary>struct ibv_cq *ibv_create_cq(struct ibv_context *, int cqe, void *cq_context,
            /// struct ibv_comp_channel *, int comp_vector); NULL with errno.</summary>
            internal readonly delegate* unmanaged<nint, int, nint, nint, int, nint> CreateCq;

            /// <summary>int ibv_destroy_cq(struct ibv_cq *); waits for every event read to be acknowledged.</summary>
            internal readonly delegate* unmanaged<nint, int> DestroyCq;

            /// <summary>int ibv_get_cq_event(struct ibv_comp_channel *, struct ibv_cq **, void **cq_context); -1 with
            /// errno. Blocks unless the channel fd is readable (or non-blocking).</summary>
            internal readonly delegate* unmanaged<nint, nint*, nint*, int> GetCqEvent;

            /// <summary>void ibv_ack_cq_events(struct ibv_cq *, unsigned int nevents).</summary>
            internal readonly delegate* unmanaged<nint, uint, void> AckCqEvents;

            /// <summary>struct ibv_qp *ibv_create_qp(struct ibv_pd *, struct ibv_qp_init_attr *); NULL with errno.
            /// Writes the actual capacities back into the attributes.</summary>
            internal readonly delegate* unmanaged<nint, IbvQpInitAttr*, nint> CreateQp;

            /// <summary>int ibv_modify_qp(struct ibv_qp *, struct ibv_qp_attr *, int attr_mask).</summary>
            internal readonly delegate* unmanaged<nint, IbvQpAttr*, int, int> ModifyQp;

            /// <summary>int ibv_query_qp(struct ibv_qp *, struct ibv_qp_attr *, int attr_mask, struct ibv_qp_init_attr *).</summary>
            internal readonly delegate* unmanaged<nint, IbvQpAttr*, int, IbvQpInitAttr*, int> QueryQp;

            /// <summary>int ibv_destroy_qp(struct ibv_qp *).</summary>
            internal readonly delegate* unmanaged<nint, int> DestroyQp;

            /// <summary>const char *ibv_wc_status_str(enum ibv_wc_status); static text. Optional.</summary>
            internal readonly delegate* unmanaged<int, byte*> WcStatusStr;

            private Exports(nint library, out string? missing)
            {
                missing = null;
                GetDeviceList = (delegate* unmanaged<int*, nint*>)Find(library, "ibv_get_device_list", ref missing);
                FreeDeviceList = (delegate* unmanaged<nint*, void>)Find(library, "ibv_free_device_list", ref missing);
                OpenDevice = (delegate* unmanaged<nint, nint>)Find(library, "ibv_open_device", ref missing);
                CloseDevice = (delegate* unmanaged<nint, int>)Find(library, "ibv_close_device", ref missing);
                QueryDevice = (delegate* unmanaged<nint, IbvDeviceAttr*, int>)Find(library, "ibv_query_device", ref missing);
                QueryPort = (delegate* unmanaged<nint, byte, IbvPortAttr*, int>)Find(library, "ibv_query_port", ref missing);
                QueryGid = (delegate* unmanaged<nint, byte, int, byte*, int>)Find(library, "ibv_query_gid", ref missing);
                AllocPd = (delegate* unmanaged<nint, nint>)Find(library, "ibv_alloc_pd", ref missing);
                DeallocPd = (delegate* unmanaged<nint, int>)Find(library, "ibv_dealloc_pd", ref missing);
                RegMr = (delegate* unmanaged<nint, nint, nuint, int, nint>)Find(library, "ibv_reg_mr", ref missing);
                DeregMr = (delegate* unmanaged<nint, int>)Find(library, "ibv_dereg_mr", ref missing);
                CreateCompChannel = (delegate* unmanaged<nint, nint>)Find(library, "ibv_create_comp_channel", ref missing);
                DestroyCompChannel = (delegate* unmanaged<nint, int>)Find(library, "ibv_destroy_comp_channel", ref missing);
                CreateCq = (delegate* unmanaged<nint, int, nint, nint, int, nint>)Find(library, "ibv_create_cq", ref missing);
                DestroyCq = (delegate* unmanaged<nint, int>)Find(library, "ibv_destroy_cq", ref missing);
                GetCqEvent = (delegate* unmanaged<nint, nint*, nint*, int>)Find(library, "ibv_get_cq_event", ref missing);
                AckCqEvents = (delegate* unmanaged<nint, uint, void>)Find(library, "ibv_ack_cq_events", ref missing);
                CreateQp = (delegate* unmanaged<nint, IbvQpInitAttr*, nint>)Find(library, "ibv_create_qp", ref missing);
                ModifyQp = (delegate* unmanaged<nint, IbvQpAttr*, int, int>)Find(library, "ibv_modify_qp", ref missing);
                QueryQp = (delegate* unmanaged<nint, IbvQpAttr*, int, IbvQpInitAttr*, int>)Find(library, "ibv_query_qp", ref missing);
                DestroyQp = (delegate* unmanaged<nint, int>)Find(library, "ibv_destroy_qp", ref missing);

                string? optional = null;
                QueryGidEx = (delegate* unmanaged<nint, uint, uint, IbvGidEntry*, uint, nuint, int>)Find(library, "_ibv_query_gid_ex", ref optional);
                RegMrIova2 = (delegate* unmanaged<nint, nint, nuint, ulong, uint, nint>)Find(library, "ibv_reg_mr_iova2", ref optional);
                WcStatusStr = (delegate* unmanaged<int, byte*>)Find(library, "ibv_wc_status_str", ref optional);
            }

            /// <summary>Resolves every entry point; null with the name of the first required one that is missing.</summary>
            internal static Exports? Resolve(nint library, out string? missing)
            {
                var exports = new Exports(library, out missing);
                return missing is null ? exports : null;
            }

            private static nint Find(nint library, string name, ref string? missing)
            {
                if (NativeLibrary.TryGetExport(library, name, out nint address))
                {
                    return address;
                }

                missing ??= name;
                return 0;
            }
        }

        /// <summary>The data-path verbs of one open device: the provider's entries in the ABI-stable
        /// <c>struct ibv_context.ops</c> table, read once when the device is opened. verbs.h's ibv_post_send,
        /// ibv_post_recv, ibv_poll_cq and ibv_req_notify_cq are static inline functions that call exactly these
        /// pointers; the slot offsets are checked against the real header by the layout test.</summary>
        internal readonly unsafe struct ContextOps
        {
            /// <summary>int (*poll_cq)(struct ibv_cq *, int num_entries, struct ibv_wc *): completions taken (≥ 0), or &lt; 0.</summary>
            internal readonly delegate* unmanaged<nint, int, IbvWc*, int> PollCq;

            /// <summary>int (*req_notify_cq)(struct ibv_cq *, int solicited_only): 0 or an errno value.</summary>
            internal readonly delegate* unmanaged<nint, int, int> ReqNotifyCq;

            /// <summary>int (*post_send)(struct ibv_qp *, struct ibv_send_wr *, struct ibv_send_wr **bad_wr): 0 or an
            /// errno value, with bad_wr at the first WR not posted.</summary>
            internal readonly delegate* unmanaged<nint, IbvSendWr*, IbvSendWr**, int> PostSend;

            /// <summary>int (*post_recv)(struct ibv_qp *, struct ibv_recv_wr *, struct ibv_recv_wr **bad_wr).</summary>
            internal readonly delegate* unmanaged<nint, IbvRecvWr*, IbvRecvWr**, int> PostRecv;

            internal ContextOps(nint context)
            {
                byte* ctx = (byte*)context;
                PollCq = (delegate* unmanaged<nint, int, IbvWc*, int>)*(nint*)(ctx + ContextOpsPollCq);
                ReqNotifyCq = (delegate* unmanaged<nint, int, int>)*(nint*)(ctx + ContextOpsReqNotifyCq);
                PostSend = (delegate* unmanaged<nint, IbvSendWr*, IbvSendWr**, int>)*(nint*)(ctx + ContextOpsPostSend);
                PostRecv = (delegate* unmanaged<nint, IbvRecvWr*, IbvRecvWr**, int>)*(nint*)(ctx + ContextOpsPostRecv);
            }

            /// <summary>The first slot the provider left empty, or null when all four are there.</summary>
            internal string? Missing =>
                PollCq == null ? "poll_cq" : ReqNotifyCq == null ? "req_notify_cq" : PostSend == null ? "post_send" : PostRecv == null ? "post_recv" : null;
        }
    }
}
