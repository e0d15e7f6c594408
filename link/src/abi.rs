//! The records that cross between the data plane and the control plane.
//!
//! Every type is `#[repr(C)]`, `Copy`, made of fixed-size integers and byte arrays with
//! explicit padding, and size-asserted: both processes map the same bytes. Prices and
//! quantities are raw [`tickwire_common::Price`]/[`tickwire_common::Qty`] values (10^-8).
//!
//! | direction | record | meaning |
//! |---|---|---|
//! | data → control | [`AuditRecord`] | every order intent with its risk decision and limits version, every venue event, every applied limit change or command; strictly increasing `seq` |
//! | data → control | [`Stats`] | once per second: counters, latency histogram, tops of book, positions |
//! | control → data | [`LimitsSnapshot`] | versioned risk limits, swapped into the engine without locks |
//! | control → data | [`Command`] | kill / unkill, strategy enable / disable / parameters, audit replay |

/// Symbols a limits snapshot, stats record or engine can carry.
pub const MAX_SYMBOLS: usize = 32;
/// Strategies an engine can run.
pub const MAX_STRATEGIES: usize = 16;
/// Strategy parameters a command can set at once.
pub const MAX_PARAMS: usize = 8;
/// Counters in a [`Stats`] record (indexed by [`StatCounter`]).
pub const STAT_COUNTERS: usize = 32;
/// Buckets of the tick-to-order latency histogram ([`latency_bucket`]).
pub const LATENCY_BUCKETS: usize = 64;

/// Copies `text` into a zero-padded fixed field (truncating).
#[must_use]
pub fn fixed_text<const N: usize>(text: &str) -> [u8; N] {
    let mut field = [0u8; N];
    let bytes = text.as_bytes();
    let len = bytes.len().min(N);
    field[..len].copy_from_slice(&bytes[..len]);
    field
}

/// The text of a zero- or space-padded fixed field (invalid UTF-8 yields `""`).
#[must_use]
pub fn text_of(field: &[u8]) -> &str {
    let end = field
        .iter()
        .rposition(|&byte| byte != 0 && byte != b' ')
        .map_or(0, |last| last + 1);
    core::str::from_utf8(&field[..end]).unwrap_or("")
}

/// What an [`AuditRecord`] records.
#[repr(u16)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// A new order passed the risk gate and is about to be sent (written before the send).
    OrderIntent = 1,
    /// A new order was refused by the risk gate (`reason` is a [`RiskReason`]).
    RiskReject = 2,
    /// A cancel is about to be sent.
    CancelIntent = 3,
    /// A replace passed the risk gate and is about to be sent.
    ReplaceIntent = 4,
    /// The venue accepted an order.
    VenueAccepted = 10,
    /// The venue rejected an order (`reason` is the venue's code).
    VenueRejected = 11,
    /// An execution (`qty` executed, `price` execution price, `aux` match number).
    VenueExecuted = 12,
    /// The venue canceled shares (`qty` canceled, `reason` the venue's code).
    VenueCanceled = 13,
    /// The venue replaced an order.
    VenueReplaced = 14,
    /// The venue refused a cancel.
    VenueCancelRejected = 15,
    /// The venue broke a trade.
    VenueBrokenTrade = 16,
    /// Venue session event (login, logout, heartbeat loss, end of session).
    VenueSession = 17,
    /// A limits snapshot was applied (`limits_version` is the new version).
    LimitsApplied = 20,
    /// The kill switch tripped (`reason` is a [`KillReason`]).
    KillSwitchOn = 21,
    /// The kill switch was reset.
    KillSwitchOff = 22,
    /// A strategy was enabled.
    StrategyEnabled = 23,
    /// A strategy was disabled.
    StrategyDisabled = 24,
    /// A strategy's parameters changed.
    StrategyParams = 25,
}

impl AuditKind {
    /// Every kind.
    pub const ALL: [Self; 18] = [
        Self::OrderIntent,
        Self::RiskReject,
        Self::CancelIntent,
        Self::ReplaceIntent,
        Self::VenueAccepted,
        Self::VenueRejected,
        Self::VenueExecuted,
        Self::VenueCanceled,
        Self::VenueReplaced,
        Self::VenueCancelRejected,
        Self::VenueBrokenTrade,
        Self::VenueSession,
        Self::LimitsApplied,
        Self::KillSwitchOn,
        Self::KillSwitchOff,
        Self::StrategyEnabled,
        Self::StrategyDisabled,
        Self::StrategyParams,
    ];

    /// The kind for a raw value.
    #[must_use]
    pub fn from_raw(raw: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| *kind as u16 == raw)
    }

    /// snake_case name (API, storage).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::OrderIntent => "order_intent",
            Self::RiskReject => "risk_reject",
            Self::CancelIntent => "cancel_intent",
            Self::ReplaceIntent => "replace_intent",
            Self::VenueAccepted => "venue_accepted",
            Self::VenueRejected => "venue_rejected",
            Self::VenueExecuted => "venue_executed",
            Self::VenueCanceled => "venue_canceled",
            Self::VenueReplaced => "venue_replaced",
            Self::VenueCancelRejected => "venue_cancel_rejected",
            Self::VenueBrokenTrade => "venue_broken_trade",
            Self::VenueSession => "venue_session",
            Self::LimitsApplied => "limits_applied",
            Self::KillSwitchOn => "kill_switch_on",
            Self::KillSwitchOff => "kill_switch_off",
            Self::StrategyEnabled => "strategy_enabled",
            Self::StrategyDisabled => "strategy_disabled",
            Self::StrategyParams => "strategy_params",
        }
    }
}

/// Why the pre-trade risk gate refused an order; each has its own counter.
#[repr(u16)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskReason {
    /// Passed.
    None = 0,
    /// Global kill switch on (only risk-reducing orders and cancels pass).
    KillSwitch = 1,
    /// The strategy's own kill switch is on.
    StrategyKilled = 2,
    /// Order quantity above the maximum.
    MaxOrderQty = 3,
    /// Order notional above the maximum.
    MaxOrderNotional = 4,
    /// Price outside the collar around the reference price.
    PriceCollar = 5,
    /// Resulting position beyond the long or short maximum.
    MaxPosition = 6,
    /// Gross notional across symbols beyond the maximum.
    MaxGrossNotional = 7,
    /// Too many open orders on the symbol.
    MaxOpenOrders = 8,
    /// Open notional on the symbol beyond the maximum.
    MaxOpenNotional = 9,
    /// Order-rate throttle (token bucket empty).
    Throttle = 10,
    /// Same side, price and quantity as a live order of the same strategy.
    Duplicate = 11,
    /// Would cross one of our own resting orders.
    SelfTrade = 12,
    /// The book is stale or older than allowed.
    StaleData = 13,
    /// Daily loss limit reached (trips the kill switch).
    DailyLoss = 14,
    /// The audit ring is full: nothing unaudited may leave (trips the kill switch).
    AuditRingFull = 15,
    /// No reference price to check the collar against.
    NoReferencePrice = 16,
    /// Unknown symbol or malformed intent.
    Invalid = 17,
    /// The venue session cannot take the order (not logged in, resend store full) or the
    /// engine has no free order slot.
    VenueUnavailable = 18,
}

/// Number of [`RiskReason`] values (counter array length).
pub const RISK_REASONS: usize = 19;

impl RiskReason {
    /// Every reason, in value order.
    pub const ALL: [Self; RISK_REASONS] = [
        Self::None,
        Self::KillSwitch,
        Self::StrategyKilled,
        Self::MaxOrderQty,
        Self::MaxOrderNotional,
        Self::PriceCollar,
        Self::MaxPosition,
        Self::MaxGrossNotional,
        Self::MaxOpenOrders,
        Self::MaxOpenNotional,
        Self::Throttle,
        Self::Duplicate,
        Self::SelfTrade,
        Self::StaleData,
        Self::DailyLoss,
        Self::AuditRingFull,
        Self::NoReferencePrice,
        Self::Invalid,
        Self::VenueUnavailable,
    ];

    /// snake_case name (metrics labels, API).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::KillSwitch => "kill_switch",
            Self::StrategyKilled => "strategy_killed",
            Self::MaxOrderQty => "max_order_qty",
            Self::MaxOrderNotional => "max_order_notional",
            Self::PriceCollar => "price_collar",
            Self::MaxPosition => "max_position",
            Self::MaxGrossNotional => "max_gross_notional",
            Self::MaxOpenOrders => "max_open_orders",
            Self::MaxOpenNotional => "max_open_notional",
            Self::Throttle => "throttle",
            Self::Duplicate => "duplicate",
            Self::SelfTrade => "self_trade",
            Self::StaleData => "stale_data",
            Self::DailyLoss => "daily_loss",
            Self::AuditRingFull => "audit_ring_full",
            Self::NoReferencePrice => "no_reference_price",
            Self::Invalid => "invalid",
            Self::VenueUnavailable => "venue_unavailable",
        }
    }

    /// The reason for a raw value.
    #[must_use]
    pub fn from_raw(raw: u16) -> Option<Self> {
        Self::ALL.get(usize::from(raw)).copied()
    }
}

/// Why the kill switch tripped.
#[repr(u16)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KillReason {
    /// An operator or risk manager through the control plane.
    Operator = 1,
    /// Daily loss limit.
    DailyLoss = 2,
    /// The audit ring was full.
    AuditRingFull = 3,
    /// The venue session was lost (heartbeats stopped).
    VenueDisconnect = 4,
    /// The data plane is shutting down.
    Shutdown = 5,
}

/// One audit record, 128 bytes. Written by the engine before the order frame leaves.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRecord {
    /// Strictly increasing, starting at 1, assigned by the data plane.
    pub seq: u64,
    /// Wall-clock time (`CLOCK_REALTIME`, ns since the Unix epoch).
    pub ts_ns: u64,
    /// An [`AuditKind`].
    pub kind: u16,
    /// A [`RiskReason`], a [`KillReason`] or the venue's reason code, per `kind`.
    pub reason: u16,
    /// `b'B'`, `b'S'` or 0.
    pub side: u8,
    /// Strategy index, or `u8::MAX` for none.
    pub strategy: u8,
    /// Explicit padding.
    pub pad0: [u8; 2],
    /// Symbol, space-padded.
    pub symbol: [u8; 8],
    /// Order token (OUCH 14-byte token), space-padded.
    pub token: [u8; 14],
    /// Explicit padding.
    pub pad1: [u8; 2],
    /// The limits snapshot version the decision was made against.
    pub limits_version: u64,
    /// Price (raw 10^-8).
    pub price: i64,
    /// Quantity (raw 10^-8).
    pub qty: i64,
    /// Venue order reference number, or the internal order id.
    pub order_id: u64,
    /// Feed sequence number that triggered the intent (0 if none).
    pub trigger_seq: u64,
    /// Kind-specific: match number, leaves quantity, previous version, command id.
    pub aux: i64,
    /// Kind-specific second value: replaced token's order id, realized PnL.
    pub aux2: i64,
    /// Who caused it: a control-plane actor for commands and limits, "engine" otherwise.
    pub actor: [u8; 24],
}

const _: () = assert!(size_of::<AuditRecord>() == 128);

impl AuditRecord {
    /// An all-zero record of `kind`.
    #[must_use]
    pub const fn new(kind: AuditKind) -> Self {
        Self {
            seq: 0,
            ts_ns: 0,
            kind: kind as u16,
            reason: 0,
            side: 0,
            strategy: u8::MAX,
            pad0: [0; 2],
            symbol: [b' '; 8],
            token: [b' '; 14],
            pad1: [0; 2],
            limits_version: 0,
            price: 0,
            qty: 0,
            order_id: 0,
            trigger_seq: 0,
            aux: 0,
            aux2: 0,
            actor: [0; 24],
        }
    }

    /// The kind, if known.
    #[must_use]
    pub fn audit_kind(&self) -> Option<AuditKind> {
        AuditKind::from_raw(self.kind)
    }
}

/// Limits that apply across symbols.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalLimits {
    /// Largest quantity of one order (raw).
    pub max_order_qty: i64,
    /// Largest notional of one order (raw).
    pub max_order_notional: i64,
    /// Largest gross notional of all positions (raw).
    pub max_gross_notional: i64,
    /// Realized + unrealized loss that trips the kill switch (raw, positive).
    pub daily_loss_limit: i64,
    /// Book older than this is stale for trading (ns; 0: no age check).
    pub max_data_age_ns: u64,
    /// Price collar around the reference price, basis points.
    pub collar_bps: u32,
    /// Order-rate throttle: sustained orders per second.
    pub orders_per_second: u32,
    /// Order-rate throttle: burst size.
    pub order_burst: u32,
    /// 1: the global kill switch is on in this snapshot.
    pub kill: u32,
}

const _: () = assert!(size_of::<GlobalLimits>() == 56);

/// Limits of one symbol.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolLimits {
    /// Symbol, space-padded (all zero: unused slot).
    pub symbol: [u8; 8],
    /// Largest quantity of one order (raw; 0: global limit only).
    pub max_order_qty: i64,
    /// Largest notional of one order (raw; 0: global limit only).
    pub max_order_notional: i64,
    /// Largest long position (raw).
    pub max_long: i64,
    /// Largest short position (raw, positive).
    pub max_short: i64,
    /// Largest notional of open orders (raw).
    pub max_open_notional: i64,
    /// Most open orders.
    pub max_open_orders: u32,
    /// Collar override in basis points (0: global).
    pub collar_bps: u32,
}

const _: () = assert!(size_of::<SymbolLimits>() == 56);

impl SymbolLimits {
    /// An unused slot.
    pub const UNUSED: Self = Self {
        symbol: [0; 8],
        max_order_qty: 0,
        max_order_notional: 0,
        max_long: 0,
        max_short: 0,
        max_open_notional: 0,
        max_open_orders: 0,
        collar_bps: 0,
    };
}

/// A complete, versioned set of risk limits. The engine always checks against one whole
/// snapshot and records its version in every audit record.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsSnapshot {
    /// Strictly increasing version (0: none yet).
    pub version: u64,
    /// Who published it.
    pub actor: [u8; 16],
    /// Cross-symbol limits.
    pub global: GlobalLimits,
    /// Per-symbol limits; slots with an all-zero symbol are unused.
    pub symbols: [SymbolLimits; MAX_SYMBOLS],
    /// Per-strategy kill switches (1: killed).
    pub strategy_kill: [u8; MAX_STRATEGIES],
}

const _: () = assert!(size_of::<LimitsSnapshot>() == 8 + 16 + 56 + 56 * MAX_SYMBOLS + 16);

impl LimitsSnapshot {
    /// The limits of `symbol`, if present.
    #[must_use]
    pub fn symbol(&self, symbol: &[u8; 8]) -> Option<&SymbolLimits> {
        self.symbols.iter().find(|limits| &limits.symbol == symbol)
    }
}

/// What a [`Command`] asks for.
#[repr(u16)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// Trip the global kill switch (`reason_text` says why).
    Kill = 1,
    /// Reset the global kill switch.
    Unkill = 2,
    /// Enable strategy `strategy`.
    EnableStrategy = 3,
    /// Disable strategy `strategy` (its working orders are canceled).
    DisableStrategy = 4,
    /// Set parameters of strategy `strategy` (`params` where `param_mask` has a bit).
    SetParams = 5,
    /// Re-send every retained audit record with `seq > after_seq`.
    ReplayAudit = 6,
}

impl CommandKind {
    /// The kind for a raw value.
    #[must_use]
    pub fn from_raw(raw: u16) -> Option<Self> {
        [
            Self::Kill,
            Self::Unkill,
            Self::EnableStrategy,
            Self::DisableStrategy,
            Self::SetParams,
            Self::ReplayAudit,
        ]
        .into_iter()
        .find(|kind| *kind as u16 == raw)
    }
}

/// A command from the control plane, 160 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    /// Control-plane id, echoed in the audit record's `aux`.
    pub id: u64,
    /// A [`CommandKind`].
    pub kind: u16,
    /// Strategy index for strategy commands.
    pub strategy: u16,
    /// Bit `i` set: `params[i]` is to be applied.
    pub param_mask: u32,
    /// For `ReplayAudit`.
    pub after_seq: u64,
    /// Strategy parameters (raw fixed-point or integers, per strategy).
    pub params: [i64; MAX_PARAMS],
    /// Who asked.
    pub actor: [u8; 16],
    /// Why (kill reason text), zero-padded.
    pub reason_text: [u8; 56],
}

const _: () = assert!(size_of::<Command>() == 160);

impl Command {
    /// A command of `kind` with everything else zero.
    #[must_use]
    pub const fn new(kind: CommandKind) -> Self {
        Self {
            id: 0,
            kind: kind as u16,
            strategy: 0,
            param_mask: 0,
            after_seq: 0,
            params: [0; MAX_PARAMS],
            actor: [0; 16],
            reason_text: [0; 56],
        }
    }
}

/// Indexes of [`Stats::counters`].
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatCounter {
    /// Feed packets received.
    FeedPackets = 0,
    /// Feed messages applied (ticks).
    FeedMessages = 1,
    /// Feed packets dropped as malformed.
    FeedMalformed = 2,
    /// Sequence gaps detected.
    FeedGaps = 3,
    /// Gaps recovered through retransmission.
    FeedGapsRecovered = 4,
    /// Gaps given up on.
    FeedGapsAbandoned = 5,
    /// Orders sent.
    OrdersSent = 6,
    /// Orders accepted by the venue.
    OrdersAccepted = 7,
    /// Orders rejected by the venue.
    OrdersRejected = 8,
    /// Executions.
    Fills = 9,
    /// Cancels sent.
    CancelsSent = 10,
    /// Risk rejects (all reasons).
    RiskRejects = 11,
    /// Audit records written.
    AuditRecords = 12,
    /// Orders refused because the audit ring was full.
    AuditRingFull = 13,
    /// Datagrams received by the I/O backend.
    IoRxDatagrams = 14,
    /// Datagrams sent.
    IoTxDatagrams = 15,
    /// Datagrams dropped by the I/O backend.
    IoRxDropped = 16,
    /// XDP frames steered.
    XdpSteered = 17,
    /// XDP frames passed.
    XdpPassed = 18,
    /// XDP malformed frames.
    XdpMalformed = 19,
    /// Book errors (unknown order, overflow).
    BookErrors = 20,
    /// Venue messages received.
    VenueMessages = 21,
    /// Venue messages dropped as malformed.
    VenueMalformed = 22,
    /// Kill switch state (1: on).
    KillSwitch = 23,
    /// Engine loop iterations (busy-poll rate).
    LoopIterations = 24,
}

/// A price-level top of book for [`Stats`].
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopRecord {
    /// Symbol, space-padded (all zero: unused slot).
    pub symbol: [u8; 8],
    /// Best bid (raw; `i64::MIN` when empty).
    pub bid_price: i64,
    /// Bid quantity (raw).
    pub bid_qty: i64,
    /// Best ask (raw; `i64::MIN` when empty).
    pub ask_price: i64,
    /// Ask quantity (raw).
    pub ask_qty: i64,
    /// Book state: 0 fresh, otherwise a staleness code.
    pub stale: u32,
    /// Explicit padding.
    pub pad: u32,
}

const _: () = assert!(size_of::<TopRecord>() == 48);

/// A position for [`Stats`].
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionRecord {
    /// Symbol, space-padded (all zero: unused slot).
    pub symbol: [u8; 8],
    /// Signed position (raw).
    pub qty: i64,
    /// Average entry price (raw).
    pub avg_price: i64,
    /// Realized PnL (raw).
    pub realized_pnl: i64,
    /// Unrealized PnL at the mark (raw).
    pub unrealized_pnl: i64,
    /// Open orders.
    pub open_orders: u32,
    /// Explicit padding.
    pub pad: u32,
}

const _: () = assert!(size_of::<PositionRecord>() == 48);

/// Once-per-second statistics from the data plane.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Wall-clock time of the snapshot (ns since the Unix epoch).
    pub ts_ns: u64,
    /// Highest audit sequence written so far.
    pub audit_seq: u64,
    /// Limits version in force.
    pub limits_version: u64,
    /// Counters, indexed by [`StatCounter`] (cumulative).
    pub counters: [u64; STAT_COUNTERS],
    /// Risk rejects by [`RiskReason`] (cumulative).
    pub risk_rejects: [u64; RISK_REASONS],
    /// Tick-to-order latency histogram (cumulative counts per [`latency_bucket`]).
    pub latency_buckets: [u64; LATENCY_BUCKETS],
    /// Tops of book.
    pub tops: [TopRecord; MAX_SYMBOLS],
    /// Positions.
    pub positions: [PositionRecord; MAX_SYMBOLS],
    /// Strategy enabled flags (1: enabled).
    pub strategy_enabled: [u8; MAX_STRATEGIES],
}

const _: () = assert!(
    size_of::<Stats>()
        == 24 + 8 * STAT_COUNTERS + 8 * RISK_REASONS + 8 * LATENCY_BUCKETS + 96 * MAX_SYMBOLS + 16
);

/// The histogram bucket of a latency: 4 sub-buckets per power of two from 16 ns, so buckets
/// cover 16 ns .. ~4 ms with at most 25% relative width; the last bucket takes the rest.
#[must_use]
pub const fn latency_bucket(ns: u64) -> usize {
    if ns < 16 {
        return 0;
    }
    // floor(log2(ns)) >= 4 here.
    let power = 63 - ns.leading_zeros() as usize;
    let quarter = ((ns >> (power - 2)) & 3) as usize;
    let bucket = (power - 4) * 4 + quarter + 1;
    if bucket >= LATENCY_BUCKETS {
        LATENCY_BUCKETS - 1
    } else {
        bucket
    }
}

/// The upper bound (ns, exclusive) of histogram bucket `bucket`.
#[must_use]
pub const fn latency_bucket_upper_ns(bucket: usize) -> u64 {
    if bucket == 0 {
        return 16;
    }
    if bucket >= LATENCY_BUCKETS - 1 {
        return u64::MAX;
    }
    let power = (bucket - 1) / 4 + 4;
    let quarter = ((bucket - 1) % 4) as u64;
    (1u64 << power) + (quarter + 1) * (1u64 << (power - 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_are_monotonic_and_bounded() {
        let mut previous = 0;
        for ns in [
            0u64,
            15,
            16,
            19,
            20,
            24,
            28,
            32,
            1_000,
            150_000,
            4_000_000,
            u64::MAX,
        ] {
            let bucket = latency_bucket(ns);
            assert!(bucket >= previous, "{ns}");
            assert!(bucket < LATENCY_BUCKETS);
            let open_ended = bucket == LATENCY_BUCKETS - 1;
            assert!(
                open_ended || ns < latency_bucket_upper_ns(bucket),
                "{ns} below its bound"
            );
            if bucket > 0 && bucket < LATENCY_BUCKETS - 1 {
                assert!(
                    ns >= latency_bucket_upper_ns(bucket - 1),
                    "{ns} above the previous"
                );
            }
            previous = bucket;
        }
    }

    #[test]
    fn kinds_and_reasons_round_trip() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::from_raw(kind as u16), Some(kind));
        }
        for (index, reason) in RiskReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, index);
            assert_eq!(RiskReason::from_raw(index as u16), Some(*reason));
        }
        assert_eq!(CommandKind::from_raw(6), Some(CommandKind::ReplayAudit));
        assert_eq!(CommandKind::from_raw(99), None);
    }

    #[test]
    fn fixed_text_round_trips() {
        let field: [u8; 16] = fixed_text("risk-admin");
        assert_eq!(text_of(&field), "risk-admin");
        assert_eq!(text_of(b"AAPL    "), "AAPL");
        let long: [u8; 4] = fixed_text("truncated");
        assert_eq!(&long, b"trun");
    }
}
