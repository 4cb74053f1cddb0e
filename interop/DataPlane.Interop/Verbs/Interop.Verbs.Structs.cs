using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Verbs
    {
        // Layouts of <infiniband/verbs.h> (LP64: x86_64 and aarch64), checked against the real header by
        // native/layout/verbs_layout.c. All C enums are 4-byte ints.

        /// <summary>struct ibv_sge (16 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct IbvSge
        {
            public ulong Addr;
            public uint Length;
            public uint Lkey;
        }

        /// <summary>struct ibv_send_wr (128 bytes); the wr union at 40 is read as its rdma member.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 128)]
        internal unsafe struct IbvSendWr
        {
            [FieldOffset(0)] public ulong WrId;
            [FieldOffset(8)] public IbvSendWr* Next;
            [FieldOffset(16)] public IbvSge* SgList;
            [FieldOffset(24)] public int NumSge;
            [FieldOffset(28)] public int Opcode;
            [FieldOffset(32)] public uint SendFlags;
            [FieldOffset(36)] public uint ImmData;
            [FieldOffset(40)] public ulong RdmaRemoteAddr;
            [FieldOffset(48)] public uint RdmaRkey;
        }

        /// <summary>struct ibv_recv_wr (32 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct IbvRecvWr
        {
            public ulong WrId;
            public IbvRecvWr* Next;
            public IbvSge* SgList;
            public int NumSge;
        }

        /// <summary>struct ibv_wc (48 bytes).</summary>
        [StructLayout(LayoutKind.Explicit, Size = 48)]
        internal struct IbvWc
        {
            [FieldOffset(0)] public ulong WrId;
            [FieldOffset(8)] public int Status;
            [FieldOffset(12)] public int Opcode;
            [FieldOffset(16)] public uint VendorErr;
            [FieldOffset(20)] public uint ByteLen;
            [FieldOffset(24)] public uint ImmData;
            [FieldOffset(28)] public uint QpNum;
            [FieldOffset(32)] public uint SrcQp;
            [FieldOffset(36)] public uint WcFlags;
        }

        /// <summary>struct ibv_global_route (24 bytes).</summary>
        [StructLayout(LayoutKind.Explicit, Size = 24)]
        internal unsafe struct IbvGlobalRoute
        {
            [FieldOffset(0)] public fixed byte Dgid[16];
            [FieldOffset(16)] public uint FlowLabel;
            [FieldOffset(20)] public byte SgidIndex;
            [FieldOffset(21)] public byte HopLimit;
            [FieldOffset(22)] public byte TrafficClass;
        }

        /// <summary>struct ibv_ah_attr (32 bytes).</summary>
        [StructLayout(LayoutKind.Explicit, Size = 32)]
        internal struct IbvAhAttr
        {
            [FieldOffset(0)] public IbvGlobalRoute Grh;
            [FieldOffset(24)] public ushort Dlid;
            [FieldOffset(26)] public byte Sl;
            [FieldOffset(27)] public byte SrcPathBits;
            [FieldOffset(28)] public byte StaticRate;
            [FieldOffset(29)] public byte IsGlobal;
            [FieldOffset(30)] public byte PortNum;
        }

        /// <summary>struct ibv_qp_cap (20 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct IbvQpCap
        {
            public uint MaxSendWr;
            public uint MaxRecvWr;
            public uint MaxSendSge;
            public uint MaxRecvSge;
            public uint MaxInlineData;
        }

        /// <summary>struct ibv_qp_init_attr (64 bytes).</summary>
        [StructLayout(LayoutKind.Explicit, Size = 64)]
        internal struct IbvQpInitAttr
        {
            [FieldOffset(0)] public nint QpContext;
            [FieldOffset(8)] public nint SendCq;
            [FieldOffset(16)] public nint RecvCq;
            [FieldOffset(24)] public nint Srq;
            [FieldOffset(32)] public IbvQpCap Cap;
            [FieldOffset(52)] public int QpType;
            [FieldOffset(56)] public int SqSigAll;
        }

        /// <summary>struct ibv_qp_attr (144 bytes).</summary>
        [StructLayout(LayoutKind.Explicit, Size = 144)]
        internal struct IbvQpAttr
        {
            [FieldOffset(0)] public int QpState;
            [FieldOffset(4)] public int CurQpState;
            [FieldOffset(8)] public int PathMtu;
            [FieldOffset(16)] public uint Qkey;
            [FieldOffset(20)] public uint RqPsn;
            [FieldOffset(24)] public uint SqPsn;
            [FieldOffset(28)] public uint DestQpNum;
            [FieldOffset(32)] public uint QpAccessFlags;
            [FieldOffset(36)] public IbvQpCap Cap;
            [FieldOffset(56)] public IbvAhAttr AhAttr;
            [FieldOffset(88)] public IbvAhAttr AltAhAttr;
            [FieldOffset(120)] public ushort PkeyIndex;
            [FieldOffset(126)] public byte MaxRdAtomic;
            [FieldOffset(127)] public byte MaxDestRdAtomic;
            [FieldOffset(128)] public byte MinRnrTimer;
            [FieldOffset(129)] public byte PortNum;
            [FieldOffset(130)] public byte Timeout;
            [FieldOffset(131)] public byte RetryCnt;
            [FieldOffset(132)] public byte RnrRetry;
            [FieldOffset(136)] public uint RateLimit;
        }

        /// <summary>struct ibv_port_attr, declared <see cref="PortAttrBufferSize"/> bytes long so that every
        /// rdma-core version's layout fits; only the compat prefix (the first 48 bytes) is read.</summary>
        [StructLayout(LayoutKind.Explicit, Size = PortAttrBufferSize)]
        internal struct IbvPortAttr
        {
            [FieldOffset(0)] public int State;
            [FieldOffset(4)] public int MaxMtu;
            [FieldOffset(8)] public int ActiveMtu;
            [FieldOffset(12)] public int GidTblLen;
            [FieldOffset(16)] public uint PortCapFlags;
            [FieldOffset(20)] public uint MaxMsgSz;
            [FieldOffset(34)] public ushort Lid;
            [FieldOffset(43)] public byte ActiveWidth;
            [FieldOffset(44)] public byte ActiveSpeed;
            [FieldOffset(45)] public byte PhysState;
            [FieldOffset(46)] public byte LinkLayer;
            [FieldOffset(47)] public byte Flags;
        }

        /// <summary>struct ibv_gid_entry (32 bytes).</summary>
        [StructLayout(LayoutKind.Explicit, Size = GidEntrySize)]
        internal unsafe struct IbvGidEntry
        {
            [FieldOffset(0)] public fixed byte Gid[16];
            [FieldOffset(16)] public uint GidIndex;
            [FieldOffset(20)] public uint PortNum;
            [FieldOffset(24)] public uint GidType;
            [FieldOffset(28)] public uint NdevIfindex;
        }

        /// <summary>struct ibv_device_attr (232 bytes); the fields DataPlane reads.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 232)]
        internal unsafe struct IbvDeviceAttr
        {
            [FieldOffset(0)] public fixed byte FwVer[64];
            [FieldOffset(64)] public ulong NodeGuid;
            [FieldOffset(72)] public ulong SysImageGuid;
            [FieldOffset(80)] public ulong MaxMrSize;
            [FieldOffset(96)] public uint VendorId;
            [FieldOffset(100)] public uint VendorPartId;
            [FieldOffset(108)] public int MaxQp;
            [FieldOffset(112)] public int MaxQpWr;
            [FieldOffset(120)] public int MaxSge;
            [FieldOffset(128)] public int MaxCq;
            [FieldOffset(132)] public int MaxCqe;
            [FieldOffset(136)] public int MaxMr;
            [FieldOffset(140)] public int MaxPd;
            [FieldOffset(144)] public int MaxQpRdAtom;
            [FieldOffset(156)] public int MaxQpInitRdAtom;
            [FieldOffset(227)] public byte PhysPortCnt;
        }
    }
}
