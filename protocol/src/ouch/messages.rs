//! The OUCH 4.2 message structs, generated from their spec field tables.
//!
//! Each table below lists the fields in wire order with their spec sizes; the macro derives
//! every offset from those sizes, and a compile-time assertion checks that the sizes add up
//! to the message length the spec states. Each field's type must encode to exactly its
//! declared size (`Field<N>`), so a size typo fails to compile.

use super::OuchError;
use super::types::{
    BboWeight, BrokenTradeReason, CancelReason, Capacity, CrossType, CustomerType, Display,
    EventCode, Field, Firm, IntermarketSweep, LiquidityFlag, OrderState, Price4, RejectReason,
    Side, Stock, TimeInForce, Token,
};

/// Copies `bytes` to `out[AT..AT + N]`; the range is checked at compile time.
#[inline(always)]
fn put<const AT: usize, const N: usize, const L: usize>(out: &mut [u8; L], bytes: [u8; N]) {
    const { assert!(AT + N <= L) };
    out[AT..AT + N].copy_from_slice(&bytes);
}

/// `bytes[AT..AT + N]` as an array; the range is checked at compile time.
#[inline(always)]
fn take<const AT: usize, const N: usize, const L: usize>(bytes: &[u8; L]) -> [u8; N] {
    const { assert!(AT + N <= L) };
    let mut field = [0u8; N];
    field.copy_from_slice(&bytes[AT..AT + N]);
    field
}

/// The message as an exact-length array with the expected type byte.
#[inline(always)]
fn exact<const L: usize>(bytes: &[u8], message_type: u8) -> Result<&[u8; L], OuchError> {
    let array: &[u8; L] = bytes.try_into().map_err(|_| OuchError::WrongLength {
        message_type,
        expected: L,
        actual: bytes.len(),
    })?;
    if array[0] != message_type {
        return Err(OuchError::WrongType {
            expected: message_type,
            actual: array[0],
        });
    }
    Ok(array)
}

macro_rules! write_fields {
    ($self:ident, $out:ident, $len:literal, $at:expr;) => {};
    ($self:ident, $out:ident, $len:literal, $at:expr;
        $field:ident : $ty:ty [$size:literal] $($rest:tt)*) => {
        put::<{ $at }, $size, $len>($out, <$ty as Field<$size>>::to_wire($self.$field));
        write_fields!($self, $out, $len, $at + $size; $($rest)*);
    };
}

macro_rules! read_fields {
    ($bytes:ident, $len:literal, $at:expr;) => {};
    ($bytes:ident, $len:literal, $at:expr;
        $field:ident : $ty:ty [$size:literal] $($rest:tt)*) => {
        let $field = <$ty as Field<$size>>::from_wire(take::<{ $at }, $size, $len>($bytes));
        read_fields!($bytes, $len, $at + $size; $($rest)*);
    };
}

macro_rules! ouch_message {
    (
        $(#[$meta:meta])*
        $name:ident = $type:literal, $len:literal {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty [$size:literal], )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )+
        }

        const _: () = assert!(
            1 $(+ $size)+ == $len,
            concat!(stringify!($name), ": field sizes do not add up to the spec length"),
        );

        impl $name {
            /// Message type byte.
            pub const TYPE: u8 = $type;
            /// Encoded length in bytes, type byte included.
            pub const LEN: usize = $len;

            /// Writes the message into an exactly sized array: straight-line stores, no
            /// checks, no branches.
            #[inline]
            pub fn encode_array(&self, out: &mut [u8; $len]) {
                out[0] = $type;
                write_fields!(self, out, $len, 1; $( $field : $ty [$size] )+);
            }

            /// Writes the message to the start of `out` and returns its length.
            ///
            /// # Errors
            /// [`OuchError::BufferTooSmall`] if `out` is shorter than [`Self::LEN`].
            #[inline]
            pub fn encode(&self, out: &mut [u8]) -> Result<usize, OuchError> {
                let available = out.len();
                let Some(array) = out.first_chunk_mut::<$len>() else {
                    return Err(OuchError::BufferTooSmall {
                        message_type: $type,
                        needed: $len,
                        available,
                    });
                };
                self.encode_array(array);
                Ok($len)
            }

            /// Reads the fields of an exactly sized message; the type byte is not checked.
            #[inline]
            #[must_use]
            pub fn decode_array(bytes: &[u8; $len]) -> Self {
                read_fields!(bytes, $len, 1; $( $field : $ty [$size] )+);
                Self { $( $field, )+ }
            }

            /// Decodes one message: exactly [`Self::LEN`] bytes starting with [`Self::TYPE`].
            ///
            /// # Errors
            /// [`OuchError::WrongLength`] or [`OuchError::WrongType`].
            #[inline]
            pub fn decode(bytes: &[u8]) -> Result<Self, OuchError> {
                exact::<$len>(bytes, $type).map(Self::decode_array)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Inbound (client to host). OUCH 4.2 section 2.

ouch_message!(
    /// Enter Order (`O`, 49 bytes): a new order.
    EnterOrder = b'O', 49 {
        /// Day-unique order token.
        token: Token [14],
        /// Buy/Sell Indicator.
        side: Side [1],
        /// Total shares, greater than 0 and less than 1,000,000.
        shares: u32 [4],
        /// Stock symbol.
        stock: Stock [8],
        /// Limit price.
        price: Price4 [4],
        /// Time in Force.
        time_in_force: TimeInForce [4],
        /// Firm (blank: the account's default).
        firm: Firm [4],
        /// Display.
        display: Display [1],
        /// Capacity.
        capacity: Capacity [1],
        /// Intermarket Sweep Eligibility.
        intermarket_sweep: IntermarketSweep [1],
        /// Minimum acceptable quantity to execute.
        minimum_quantity: u32 [4],
        /// Cross Type.
        cross_type: CrossType [1],
        /// Customer Type.
        customer_type: CustomerType [1],
    }
);

ouch_message!(
    /// Replace Order (`U`, 47 bytes): cancel-replace with a new token, losing time priority.
    ReplaceOrder = b'U', 47 {
        /// Token of the order to replace (from Enter Order or the last Replace Order).
        existing_token: Token [14],
        /// Day-unique token of the replacement.
        replacement_token: Token [14],
        /// New total shares (0 cancels the order).
        shares: u32 [4],
        /// New limit price.
        price: Price4 [4],
        /// New Time in Force.
        time_in_force: TimeInForce [4],
        /// New Display.
        display: Display [1],
        /// New Intermarket Sweep Eligibility.
        intermarket_sweep: IntermarketSweep [1],
        /// New minimum quantity.
        minimum_quantity: u32 [4],
    }
);

ouch_message!(
    /// Cancel Order (`X`, 19 bytes): reduce an order to `shares` (0 cancels it).
    CancelOrder = b'X', 19 {
        /// Token of the order.
        token: Token [14],
        /// New intended order size (0: cancel entirely).
        shares: u32 [4],
    }
);

ouch_message!(
    /// Modify Order (`M`, 20 bytes): changes that keep priority (side, size down).
    ModifyOrder = b'M', 20 {
        /// Token of the order.
        token: Token [14],
        /// New Buy/Sell Indicator.
        side: Side [1],
        /// New total shares.
        shares: u32 [4],
    }
);

// ---------------------------------------------------------------------------------------------
// Outbound (host to client). OUCH 4.2 section 3; every message starts with an 8-byte
// timestamp, nanoseconds since midnight.

ouch_message!(
    /// System Event (`S`, 10 bytes).
    SystemEvent = b'S', 10 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Event code.
        event: EventCode [1],
    }
);

ouch_message!(
    /// Accepted (`A`, 66 bytes): an Enter Order was accepted; fields as accepted (which may
    /// differ from those entered).
    Accepted = b'A', 66 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Order token as entered.
        token: Token [14],
        /// Buy/Sell Indicator.
        side: Side [1],
        /// Total shares.
        shares: u32 [4],
        /// Stock symbol.
        stock: Stock [8],
        /// Accepted price.
        price: Price4 [4],
        /// Time in Force.
        time_in_force: TimeInForce [4],
        /// Firm.
        firm: Firm [4],
        /// Accepted Display.
        display: Display [1],
        /// Day-unique Order Reference Number assigned by the host.
        order_reference_number: u64 [8],
        /// Capacity.
        capacity: Capacity [1],
        /// Intermarket Sweep Eligibility.
        intermarket_sweep: IntermarketSweep [1],
        /// Minimum quantity.
        minimum_quantity: u32 [4],
        /// Cross Type.
        cross_type: CrossType [1],
        /// Order State.
        order_state: OrderState [1],
        /// BBO Weight Indicator.
        bbo_weight: BboWeight [1],
    }
);

ouch_message!(
    /// Replaced (`U`, 80 bytes): a Replace Order was accepted.
    Replaced = b'U', 80 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Token of the new order.
        replacement_token: Token [14],
        /// Buy/Sell Indicator.
        side: Side [1],
        /// Total shares.
        shares: u32 [4],
        /// Stock symbol.
        stock: Stock [8],
        /// Accepted price.
        price: Price4 [4],
        /// Time in Force.
        time_in_force: TimeInForce [4],
        /// Firm.
        firm: Firm [4],
        /// Accepted Display.
        display: Display [1],
        /// Order Reference Number of the new order.
        order_reference_number: u64 [8],
        /// Capacity.
        capacity: Capacity [1],
        /// Intermarket Sweep Eligibility.
        intermarket_sweep: IntermarketSweep [1],
        /// Minimum quantity.
        minimum_quantity: u32 [4],
        /// Cross Type.
        cross_type: CrossType [1],
        /// Order State.
        order_state: OrderState [1],
        /// Token of the order that was replaced.
        previous_token: Token [14],
        /// BBO Weight Indicator.
        bbo_weight: BboWeight [1],
    }
);

ouch_message!(
    /// Canceled (`C`, 28 bytes): an order was reduced or canceled.
    Canceled = b'C', 28 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Order token.
        token: Token [14],
        /// Shares just removed from the order (incremental, not cumulative).
        decrement_shares: u32 [4],
        /// Reason.
        reason: CancelReason [1],
    }
);

ouch_message!(
    /// AIQ Canceled (`D`, 37 bytes): canceled by anti-internalization (self-match prevention).
    AiqCanceled = b'D', 37 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Order token.
        token: Token [14],
        /// Shares just removed from the order.
        decrement_shares: u32 [4],
        /// Reason (`Q` for AIQ cancels).
        reason: CancelReason [1],
        /// Shares that would have executed.
        quantity_prevented_from_trading: u32 [4],
        /// Price at which the trade would have occurred.
        execution_price: Price4 [4],
        /// Liquidity flag the order would have received.
        liquidity_flag: LiquidityFlag [1],
    }
);

ouch_message!(
    /// Executed (`E`, 40 bytes): all or part of an order executed.
    Executed = b'E', 40 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Order token.
        token: Token [14],
        /// Shares executed (incremental).
        executed_shares: u32 [4],
        /// Execution price.
        execution_price: Price4 [4],
        /// Liquidity flag.
        liquidity_flag: LiquidityFlag [1],
        /// Match number, shared by the buy and the sell side of the match.
        match_number: u64 [8],
    }
);

ouch_message!(
    /// Broken Trade (`B`, 32 bytes): an execution was broken and will not clear.
    BrokenTrade = b'B', 32 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Order token.
        token: Token [14],
        /// Match number of the broken execution.
        match_number: u64 [8],
        /// Reason.
        reason: BrokenTradeReason [1],
    }
);

ouch_message!(
    /// Rejected (`J`, 24 bytes): an Enter Order or Replace Order was rejected.
    Rejected = b'J', 24 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Order token.
        token: Token [14],
        /// Reason.
        reason: RejectReason [1],
    }
);

ouch_message!(
    /// Cancel Pending (`P`, 23 bytes): a cross order cannot be canceled now; it will be after
    /// the cross.
    CancelPending = b'P', 23 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Order token.
        token: Token [14],
    }
);

ouch_message!(
    /// Cancel Reject (`I`, 23 bytes): a partial cancel of a cross order was refused.
    CancelReject = b'I', 23 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Order token.
        token: Token [14],
    }
);

ouch_message!(
    /// Order Priority Update (`T`, 36 bytes): the system changed an order's priority.
    OrderPriorityUpdate = b'T', 36 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Order token.
        token: Token [14],
        /// Price.
        price: Price4 [4],
        /// Display.
        display: Display [1],
        /// Order Reference Number.
        order_reference_number: u64 [8],
    }
);

ouch_message!(
    /// Modified (`M`, 28 bytes): response to a Modify Order.
    Modified = b'M', 28 {
        /// Nanoseconds since midnight.
        timestamp_ns: u64 [8],
        /// Order token.
        token: Token [14],
        /// Buy/Sell Indicator after the modification.
        side: Side [1],
        /// Shares after the modification.
        shares: u32 [4],
    }
);
