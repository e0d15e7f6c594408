//! OUCH 4.2: byte vectors written from the spec tables, error paths, and property round trips
//! for every message type.

use proptest::prelude::*;
use tickwire_common::{Price, Qty};
use tickwire_protocol::ouch::{
    Accepted, AiqCanceled, BboWeight, BrokenTrade, BrokenTradeReason, CancelOrder, CancelPending,
    CancelReason, CancelReject, Canceled, Capacity, CrossType, CustomerType, Direction, Display,
    EnterOrder, EventCode, Executed, Firm, InboundMessage, IntermarketSweep, LiquidityFlag,
    MAX_MESSAGE_LEN, Modified, ModifyOrder, OrderPriorityUpdate, OrderState, OuchError,
    OutboundMessage, Price4, RejectReason, Rejected, ReplaceOrder, Replaced, Side, Stock,
    SystemEvent, TimeInForce, Token, TokenPrefix, shares_from_qty,
};

/// Concatenates hand-written field bytes.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn token(text: &[u8]) -> Token {
    Token::from_text(text).expect("valid token text")
}

fn sample_enter_order() -> EnterOrder {
    EnterOrder {
        token: token(b"ORD1"),
        side: Side::BUY,
        shares: 100,
        stock: Stock::from_symbol(b"AAPL").expect("valid symbol"),
        price: Price4::from_raw(1_502_500),
        time_in_force: TimeInForce::MARKET_HOURS,
        firm: Firm::from_text(b"TWFM").expect("valid firm"),
        display: Display::ATTRIBUTABLE,
        capacity: Capacity::PRINCIPAL,
        intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
        minimum_quantity: 0,
        cross_type: CrossType::NO_CROSS,
        customer_type: CustomerType::NOT_RETAIL,
    }
}

// ----------------------------------------------------------------------------------------------
// Byte vectors from the spec layouts (offset: field).

#[test]
fn enter_order_matches_spec_layout() {
    let expected = cat(&[
        b"O",                      // 0: type
        b"ORD1          ",         // 1: order token (14)
        b"B",                      // 15: buy/sell
        &[0, 0, 0, 100],           // 16: shares
        b"AAPL    ",               // 20: stock (8)
        &[0x00, 0x16, 0xED, 0x24], // 28: price 150.2500 = 1_502_500
        &[0x00, 0x01, 0x86, 0x9E], // 32: time in force 99,998
        b"TWFM",                   // 36: firm
        b"A",                      // 40: display
        b"P",                      // 41: capacity
        b"N",                      // 42: intermarket sweep
        &[0, 0, 0, 0],             // 43: minimum quantity
        b"N",                      // 47: cross type
        b"N",                      // 48: customer type
    ]);
    assert_eq!(expected.len(), 49);
    let order = sample_enter_order();
    let mut buf = [0u8; 64];
    assert_eq!(order.encode(&mut buf), Ok(49));
    assert_eq!(&buf[..49], expected.as_slice());
    assert_eq!(EnterOrder::decode(&expected), Ok(order));
    assert_eq!(
        InboundMessage::decode(&expected),
        Ok(InboundMessage::EnterOrder(order))
    );
}

#[test]
fn replace_cancel_modify_match_spec_layout() {
    let replace = cat(&[
        b"U",
        b"ORD1          ",   // 1: existing token
        b"ORD2          ",   // 15: replacement token
        &[0, 0, 0x01, 0x2C], // 29: shares 300
        &[0, 0, 0x27, 0x10], // 33: price 1.0000
        &[0, 0, 0, 0],       // 37: time in force IOC
        b"Y",                // 41: display
        b"Y",                // 42: intermarket sweep
        &[0, 0, 0, 100],     // 43: minimum quantity
    ]);
    assert_eq!(replace.len(), 47);
    let expected = ReplaceOrder {
        existing_token: token(b"ORD1"),
        replacement_token: token(b"ORD2"),
        shares: 300,
        price: Price4::from_raw(10_000),
        time_in_force: TimeInForce::IOC,
        display: Display::ANONYMOUS,
        intermarket_sweep: IntermarketSweep::ELIGIBLE,
        minimum_quantity: 100,
    };
    assert_eq!(
        InboundMessage::decode(&replace),
        Ok(InboundMessage::ReplaceOrder(expected))
    );

    let cancel = cat(&[b"X", b"ORD2          ", &[0, 0, 0, 0]]);
    assert_eq!(
        InboundMessage::decode(&cancel),
        Ok(InboundMessage::CancelOrder(CancelOrder {
            token: token(b"ORD2"),
            shares: 0,
        }))
    );

    let modify = cat(&[b"M", b"ORD2          ", b"T", &[0, 0, 0, 50]]);
    assert_eq!(
        InboundMessage::decode(&modify),
        Ok(InboundMessage::ModifyOrder(ModifyOrder {
            token: token(b"ORD2"),
            side: Side::SELL_SHORT,
            shares: 50,
        }))
    );
}

const TS: [u8; 8] = [0, 0, 0x2F, 0x3A, 0x6B, 0x1C, 0x55, 0x00]; // 51,927,951,627,520 ns (14:25:27.95)
const TS_NS: u64 = 0x2F3A_6B1C_5500;

#[test]
fn accepted_and_replaced_match_spec_layout() {
    let accepted = cat(&[
        b"A",
        &TS,                             // 1: timestamp
        b"ORD1          ",               // 9: token
        b"S",                            // 23: side
        &[0, 0, 0, 100],                 // 24: shares
        b"MSFT    ",                     // 28: stock
        &[0x00, 0x16, 0xED, 0x24],       // 36: price
        &[0, 0, 0x0E, 0x10],             // 40: time in force 3600 s
        b"    ",                         // 44: firm (default)
        b"N",                            // 48: display
        &[0, 0, 0, 0, 0, 0, 0x30, 0x39], // 49: order reference number 12345
        b"A",                            // 57: capacity
        b"N",                            // 58: intermarket sweep
        &[0, 0, 0, 10],                  // 59: minimum quantity
        b"C",                            // 63: cross type
        b"L",                            // 64: order state
        b" ",                            // 65: BBO weight
    ]);
    assert_eq!(accepted.len(), 66);
    let message = Accepted {
        timestamp_ns: TS_NS,
        token: token(b"ORD1"),
        side: Side::SELL,
        shares: 100,
        stock: Stock::from_symbol(b"MSFT").unwrap(),
        price: Price4::from_raw(1_502_500),
        time_in_force: TimeInForce::seconds(3600),
        firm: Firm::DEFAULT,
        display: Display::NON_DISPLAY,
        order_reference_number: 12_345,
        capacity: Capacity::AGENCY,
        intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
        minimum_quantity: 10,
        cross_type: CrossType::CLOSING,
        order_state: OrderState::LIVE,
        bbo_weight: BboWeight::UNSPECIFIED,
    };
    assert_eq!(
        OutboundMessage::decode(&accepted),
        Ok(OutboundMessage::Accepted(message))
    );

    let replaced = cat(&[
        b"U",
        &TS,
        b"ORD2          ", // 9: replacement token
        b"S",
        &[0, 0, 0, 100],
        b"MSFT    ",
        &[0x00, 0x16, 0xED, 0x24],
        &[0, 0, 0x0E, 0x10],
        b"    ",
        b"N",
        &[0, 0, 0, 0, 0, 0, 0x30, 0x3A], // 49: order reference number 12346
        b"A",
        b"N",
        &[0, 0, 0, 10],
        b"C",
        b"L",
        b"ORD1          ", // 65: previous token
        b"3",              // 79: BBO weight
    ]);
    assert_eq!(replaced.len(), 80);
    let decoded = OutboundMessage::decode(&replaced);
    let Ok(OutboundMessage::Replaced(replaced_message)) = decoded else {
        panic!("expected Replaced, got {decoded:?}");
    };
    assert_eq!(replaced_message.replacement_token, token(b"ORD2"));
    assert_eq!(replaced_message.previous_token, token(b"ORD1"));
    assert_eq!(replaced_message.order_reference_number, 12_346);
    assert_eq!(replaced_message.bbo_weight, BboWeight::ABOVE_2_PERCENT);
    let mut buf = [0u8; MAX_MESSAGE_LEN];
    assert_eq!(replaced_message.encode(&mut buf), Ok(80));
    assert_eq!(&buf[..], replaced.as_slice());
}

#[test]
fn execution_and_cancel_messages_match_spec_layout() {
    let executed = cat(&[
        b"E",
        &TS,
        b"ORD1          ",               // 9: token
        &[0, 0, 0, 40],                  // 23: executed shares
        &[0x00, 0x16, 0xED, 0x24],       // 27: execution price
        b"R",                            // 31: liquidity flag
        &[0, 0, 0, 0, 0, 1, 0x86, 0xA0], // 32: match number 100,000
    ]);
    assert_eq!(
        OutboundMessage::decode(&executed),
        Ok(OutboundMessage::Executed(Executed {
            timestamp_ns: TS_NS,
            token: token(b"ORD1"),
            executed_shares: 40,
            execution_price: Price4::from_raw(1_502_500),
            liquidity_flag: LiquidityFlag::REMOVED,
            match_number: 100_000,
        }))
    );

    let canceled = cat(&[b"C", &TS, b"ORD1          ", &[0, 0, 0, 60], b"U"]);
    assert_eq!(
        OutboundMessage::decode(&canceled),
        Ok(OutboundMessage::Canceled(Canceled {
            timestamp_ns: TS_NS,
            token: token(b"ORD1"),
            decrement_shares: 60,
            reason: CancelReason::USER_REQUESTED,
        }))
    );

    let aiq = cat(&[
        b"D",
        &TS,
        b"ORD1          ",
        &[0, 0, 0, 60],            // 23: decrement shares
        b"Q",                      // 27: reason
        &[0, 0, 0, 25],            // 28: quantity prevented from trading
        &[0x00, 0x16, 0xED, 0x24], // 32: execution price
        b"A",                      // 36: liquidity flag
    ]);
    assert_eq!(aiq.len(), 37);
    assert_eq!(
        OutboundMessage::decode(&aiq),
        Ok(OutboundMessage::AiqCanceled(AiqCanceled {
            timestamp_ns: TS_NS,
            token: token(b"ORD1"),
            decrement_shares: 60,
            reason: CancelReason::SELF_MATCH_PREVENTION,
            quantity_prevented_from_trading: 25,
            execution_price: Price4::from_raw(1_502_500),
            liquidity_flag: LiquidityFlag::ADDED,
        }))
    );

    let broken = cat(&[
        b"B",
        &TS,
        b"ORD1          ",
        &[0, 0, 0, 0, 0, 1, 0x86, 0xA0],
        b"E",
    ]);
    assert_eq!(
        OutboundMessage::decode(&broken),
        Ok(OutboundMessage::BrokenTrade(BrokenTrade {
            timestamp_ns: TS_NS,
            token: token(b"ORD1"),
            match_number: 100_000,
            reason: BrokenTradeReason::ERRONEOUS,
        }))
    );
}

#[test]
fn short_outbound_messages_match_spec_layout() {
    let cases: Vec<(Vec<u8>, OutboundMessage)> = vec![
        (
            cat(&[b"S", &TS, b"S"]),
            SystemEvent {
                timestamp_ns: TS_NS,
                event: EventCode::START_OF_DAY,
            }
            .into(),
        ),
        (
            cat(&[b"J", &TS, b"ORD9          ", b"S"]),
            Rejected {
                timestamp_ns: TS_NS,
                token: token(b"ORD9"),
                reason: RejectReason::INVALID_STOCK,
            }
            .into(),
        ),
        (
            cat(&[b"P", &TS, b"ORD9          "]),
            CancelPending {
                timestamp_ns: TS_NS,
                token: token(b"ORD9"),
            }
            .into(),
        ),
        (
            cat(&[b"I", &TS, b"ORD9          "]),
            CancelReject {
                timestamp_ns: TS_NS,
                token: token(b"ORD9"),
            }
            .into(),
        ),
        (
            cat(&[
                b"T",
                &TS,
                b"ORD9          ",
                &[0, 0, 0x27, 0x10],
                b"M",
                &[0, 0, 0, 0, 0, 0, 0, 7],
            ]),
            OrderPriorityUpdate {
                timestamp_ns: TS_NS,
                token: token(b"ORD9"),
                price: Price4::from_raw(10_000),
                display: Display::MID_POINT_PEG,
                order_reference_number: 7,
            }
            .into(),
        ),
        (
            cat(&[b"M", &TS, b"ORD9          ", b"E", &[0, 0, 0, 9]]),
            Modified {
                timestamp_ns: TS_NS,
                token: token(b"ORD9"),
                side: Side::SELL_SHORT_EXEMPT,
                shares: 9,
            }
            .into(),
        ),
    ];
    for (bytes, message) in cases {
        assert_eq!(bytes.len(), message.encoded_len());
        assert_eq!(OutboundMessage::decode(&bytes), Ok(message));
        let mut buf = [0u8; MAX_MESSAGE_LEN];
        let len = message.encode(&mut buf).unwrap();
        assert_eq!(&buf[..len], bytes.as_slice());
    }
}

#[test]
fn unlisted_codes_decode_as_other_and_reencode() {
    let mut bytes = cat(&[b"J", &TS, b"ORD9          ", b"?"]);
    let message = OutboundMessage::decode(&bytes).unwrap();
    let OutboundMessage::Rejected(rejected) = message else {
        panic!("expected Rejected");
    };
    assert_eq!(rejected.reason, RejectReason::from_byte(b'?'));
    assert!(!rejected.reason.is_known());
    let mut buf = [0u8; 24];
    rejected.encode(&mut buf).unwrap();
    assert_eq!(&buf[..], bytes.as_slice());
    bytes[23] = b'X';
    assert_eq!(
        Rejected::decode(&bytes).map(|r| r.reason),
        Ok(RejectReason::INVALID_PRICE)
    );
}

// ----------------------------------------------------------------------------------------------
// Error paths.

#[test]
fn decode_errors_name_type_and_offset() {
    assert_eq!(InboundMessage::decode(&[]), Err(OuchError::Empty));
    assert_eq!(OutboundMessage::decode(&[]), Err(OuchError::Empty));
    // 'A' is outbound only; 'O' is inbound only.
    assert_eq!(
        InboundMessage::decode(b"A"),
        Err(OuchError::UnknownType {
            direction: Direction::Inbound,
            message_type: b'A'
        })
    );
    assert_eq!(
        OutboundMessage::decode(&[b'O'; 49]),
        Err(OuchError::UnknownType {
            direction: Direction::Outbound,
            message_type: b'O'
        })
    );
    let mut bytes = [0u8; 50];
    bytes[0] = b'O';
    assert_eq!(
        InboundMessage::decode(&bytes[..48]),
        Err(OuchError::WrongLength {
            message_type: b'O',
            expected: 49,
            actual: 48
        })
    );
    assert_eq!(
        InboundMessage::decode(&bytes),
        Err(OuchError::WrongLength {
            message_type: b'O',
            expected: 49,
            actual: 50
        })
    );
    assert_eq!(
        EnterOrder::decode(&[b'X'; 49]),
        Err(OuchError::WrongType {
            expected: b'O',
            actual: b'X'
        })
    );
    let text = OuchError::WrongLength {
        message_type: b'O',
        expected: 49,
        actual: 48,
    }
    .to_string();
    assert!(text.contains("'O'") && text.contains("offset 48"), "{text}");
    let text = OuchError::UnknownType {
        direction: Direction::Inbound,
        message_type: b'A',
    }
    .to_string();
    assert!(text.contains("'A'") && text.contains("offset 0"), "{text}");
}

#[test]
fn encode_into_a_short_buffer_fails() {
    let order = sample_enter_order();
    let mut buf = [0u8; 48];
    assert_eq!(
        order.encode(&mut buf),
        Err(OuchError::BufferTooSmall {
            message_type: b'O',
            needed: 49,
            available: 48
        })
    );
    assert_eq!(
        InboundMessage::from(order).encode(&mut []),
        Err(OuchError::BufferTooSmall {
            message_type: b'O',
            needed: 49,
            available: 0
        })
    );
}

#[test]
fn lengths_by_type() {
    for (message_type, len) in [(b'O', 49), (b'U', 47), (b'X', 19), (b'M', 20)] {
        assert_eq!(InboundMessage::len_of_type(message_type), Some(len));
    }
    for (message_type, len) in [
        (b'S', 10),
        (b'A', 66),
        (b'U', 80),
        (b'C', 28),
        (b'D', 37),
        (b'E', 40),
        (b'B', 32),
        (b'J', 24),
        (b'P', 23),
        (b'I', 23),
        (b'T', 36),
        (b'M', 28),
    ] {
        assert_eq!(OutboundMessage::len_of_type(message_type), Some(len));
    }
    assert_eq!(InboundMessage::len_of_type(b'A'), None);
    assert_eq!(OutboundMessage::len_of_type(b'O'), None);
}

#[test]
fn fixed_point_conversions() {
    let price = Price::from_scaled(1_502_500, 4).unwrap();
    assert_eq!(Price4::from_price(price), Ok(Price4::from_raw(1_502_500)));
    assert_eq!(Price4::from_raw(1_502_500).to_price(), price);
    assert_eq!(shares_from_qty(Qty::from_shares(100)), Ok(100));
    assert!(shares_from_qty(Qty::from_raw(1)).is_err());
    assert!(shares_from_qty(Qty::from_shares(1).neg()).is_err());
}

#[test]
fn counter_tokens_embed_the_prefix() {
    let prefix = TokenPrefix::new(b"TW1").unwrap();
    let token = Token::from_counter(&prefix, 1_295).unwrap();
    assert_eq!(token.as_bytes(), b"TW1000000000ZZ");
    assert_eq!(token.counter(&prefix), Some(1_295));
    assert_eq!(token.to_string(), "TW1000000000ZZ");
}

// ----------------------------------------------------------------------------------------------
// Property round trips: arbitrary field values, every message type.

fn code<T: core::fmt::Debug>(known: &'static [u8], from: fn(u8) -> T) -> impl Strategy<Value = T> {
    prop_oneof![prop::sample::select(known), any::<u8>()].prop_map(from)
}

fn any_token() -> impl Strategy<Value = Token> {
    any::<[u8; 14]>().prop_map(Token::from_bytes)
}

fn any_stock() -> impl Strategy<Value = Stock> {
    any::<[u8; 8]>().prop_map(Stock::from_bytes)
}

fn any_firm() -> impl Strategy<Value = Firm> {
    any::<[u8; 4]>().prop_map(Firm::from_bytes)
}

fn any_price() -> impl Strategy<Value = Price4> {
    prop_oneof![
        Just(Price4::MARKET),
        any::<u32>().prop_map(Price4::from_raw)
    ]
}

fn any_tif() -> impl Strategy<Value = TimeInForce> {
    prop_oneof![Just(0u32), Just(99_998), Just(99_999), any::<u32>()]
        .prop_map(TimeInForce::from_wire)
}

fn any_side() -> impl Strategy<Value = Side> {
    code(b"BSTE", Side::from_byte)
}

fn any_display() -> impl Strategy<Value = Display> {
    code(b"AYNPIMWLOTQZ", Display::from_byte)
}

fn any_capacity() -> impl Strategy<Value = Capacity> {
    code(b"APRO", Capacity::from_byte)
}

fn any_sweep() -> impl Strategy<Value = IntermarketSweep> {
    code(b"YNy", IntermarketSweep::from_byte)
}

fn any_cross() -> impl Strategy<Value = CrossType> {
    code(b"NOCHSRE", CrossType::from_byte)
}

fn any_customer() -> impl Strategy<Value = CustomerType> {
    code(b"RN ", CustomerType::from_byte)
}

fn any_state() -> impl Strategy<Value = OrderState> {
    code(b"LD", OrderState::from_byte)
}

fn any_bbo() -> impl Strategy<Value = BboWeight> {
    code(b"0123 SN", BboWeight::from_byte)
}

fn any_liquidity() -> impl Strategy<Value = LiquidityFlag> {
    code(b"AROMCLHKJkm078defjrt", LiquidityFlag::from_byte)
}

fn any_cancel_reason() -> impl Strategy<Value = CancelReason> {
    code(b"UITSDQZCKHXE", CancelReason::from_byte)
}

fn any_reject_reason() -> impl Strategy<Value = RejectReason> {
    code(b"THZSDCLMRXNOWabcdefghijklmn", RejectReason::from_byte)
}

fn enter_order() -> impl Strategy<Value = EnterOrder> {
    (
        (
            any_token(),
            any_side(),
            any::<u32>(),
            any_stock(),
            any_price(),
        ),
        (any_tif(), any_firm(), any_display(), any_capacity()),
        (any_sweep(), any::<u32>(), any_cross(), any_customer()),
    )
        .prop_map(
            |(
                (token, side, shares, stock, price),
                (time_in_force, firm, display, capacity),
                (intermarket_sweep, minimum_quantity, cross_type, customer_type),
            )| EnterOrder {
                token,
                side,
                shares,
                stock,
                price,
                time_in_force,
                firm,
                display,
                capacity,
                intermarket_sweep,
                minimum_quantity,
                cross_type,
                customer_type,
            },
        )
}

fn inbound() -> impl Strategy<Value = InboundMessage> {
    prop_oneof![
        enter_order().prop_map(InboundMessage::from),
        (
            (any_token(), any_token(), any::<u32>(), any_price()),
            (any_tif(), any_display(), any_sweep(), any::<u32>()),
        )
            .prop_map(
                |(
                    (existing_token, replacement_token, shares, price),
                    (time_in_force, display, intermarket_sweep, minimum_quantity),
                )| {
                    ReplaceOrder {
                        existing_token,
                        replacement_token,
                        shares,
                        price,
                        time_in_force,
                        display,
                        intermarket_sweep,
                        minimum_quantity,
                    }
                    .into()
                }
            ),
        (any_token(), any::<u32>())
            .prop_map(|(token, shares)| CancelOrder { token, shares }.into()),
        (any_token(), any_side(), any::<u32>()).prop_map(|(token, side, shares)| ModifyOrder {
            token,
            side,
            shares
        }
        .into()),
    ]
}

fn accepted_like() -> impl Strategy<Value = Accepted> {
    (
        (
            any::<u64>(),
            any_token(),
            any_side(),
            any::<u32>(),
            any_stock(),
        ),
        (
            any_price(),
            any_tif(),
            any_firm(),
            any_display(),
            any::<u64>(),
        ),
        (any_capacity(), any_sweep(), any::<u32>(), any_cross()),
        (any_state(), any_bbo()),
    )
        .prop_map(
            |(
                (timestamp_ns, token, side, shares, stock),
                (price, time_in_force, firm, display, order_reference_number),
                (capacity, intermarket_sweep, minimum_quantity, cross_type),
                (order_state, bbo_weight),
            )| Accepted {
                timestamp_ns,
                token,
                side,
                shares,
                stock,
                price,
                time_in_force,
                firm,
                display,
                order_reference_number,
                capacity,
                intermarket_sweep,
                minimum_quantity,
                cross_type,
                order_state,
                bbo_weight,
            },
        )
}

fn outbound() -> impl Strategy<Value = OutboundMessage> {
    prop_oneof![
        (any::<u64>(), code(b"SE", EventCode::from_byte)).prop_map(|(timestamp_ns, event)| {
            SystemEvent {
                timestamp_ns,
                event,
            }
            .into()
        }),
        accepted_like().prop_map(OutboundMessage::from),
        (accepted_like(), any_token()).prop_map(|(a, previous_token)| {
            Replaced {
                timestamp_ns: a.timestamp_ns,
                replacement_token: a.token,
                side: a.side,
                shares: a.shares,
                stock: a.stock,
                price: a.price,
                time_in_force: a.time_in_force,
                firm: a.firm,
                display: a.display,
                order_reference_number: a.order_reference_number,
                capacity: a.capacity,
                intermarket_sweep: a.intermarket_sweep,
                minimum_quantity: a.minimum_quantity,
                cross_type: a.cross_type,
                order_state: a.order_state,
                previous_token,
                bbo_weight: a.bbo_weight,
            }
            .into()
        }),
        (any::<u64>(), any_token(), any::<u32>(), any_cancel_reason()).prop_map(
            |(timestamp_ns, token, decrement_shares, reason)| {
                Canceled {
                    timestamp_ns,
                    token,
                    decrement_shares,
                    reason,
                }
                .into()
            }
        ),
        (
            (any::<u64>(), any_token(), any::<u32>(), any_cancel_reason()),
            (any::<u32>(), any_price(), any_liquidity()),
        )
            .prop_map(
                |(
                    (timestamp_ns, token, decrement_shares, reason),
                    (quantity_prevented_from_trading, execution_price, liquidity_flag),
                )| {
                    AiqCanceled {
                        timestamp_ns,
                        token,
                        decrement_shares,
                        reason,
                        quantity_prevented_from_trading,
                        execution_price,
                        liquidity_flag,
                    }
                    .into()
                }
            ),
        (
            any::<u64>(),
            any_token(),
            any::<u32>(),
            any_price(),
            any_liquidity(),
            any::<u64>()
        )
            .prop_map(
                |(
                    timestamp_ns,
                    token,
                    executed_shares,
                    execution_price,
                    liquidity_flag,
                    match_number,
                )| {
                    Executed {
                        timestamp_ns,
                        token,
                        executed_shares,
                        execution_price,
                        liquidity_flag,
                        match_number,
                    }
                    .into()
                }
            ),
        (
            any::<u64>(),
            any_token(),
            any::<u64>(),
            code(b"ECSX", BrokenTradeReason::from_byte)
        )
            .prop_map(|(timestamp_ns, token, match_number, reason)| {
                BrokenTrade {
                    timestamp_ns,
                    token,
                    match_number,
                    reason,
                }
                .into()
            }),
        (any::<u64>(), any_token(), any_reject_reason()).prop_map(
            |(timestamp_ns, token, reason)| {
                Rejected {
                    timestamp_ns,
                    token,
                    reason,
                }
                .into()
            }
        ),
        (any::<u64>(), any_token()).prop_map(|(timestamp_ns, token)| {
            CancelPending {
                timestamp_ns,
                token,
            }
            .into()
        }),
        (any::<u64>(), any_token()).prop_map(|(timestamp_ns, token)| {
            CancelReject {
                timestamp_ns,
                token,
            }
            .into()
        }),
        (
            any::<u64>(),
            any_token(),
            any_price(),
            any_display(),
            any::<u64>()
        )
            .prop_map(
                |(timestamp_ns, token, price, display, order_reference_number)| {
                    OrderPriorityUpdate {
                        timestamp_ns,
                        token,
                        price,
                        display,
                        order_reference_number,
                    }
                    .into()
                }
            ),
        (any::<u64>(), any_token(), any_side(), any::<u32>()).prop_map(
            |(timestamp_ns, token, side, shares)| {
                Modified {
                    timestamp_ns,
                    token,
                    side,
                    shares,
                }
                .into()
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn inbound_round_trips(message in inbound()) {
        let mut buf = [0u8; MAX_MESSAGE_LEN];
        let len = message.encode(&mut buf).unwrap();
        prop_assert_eq!(len, message.encoded_len());
        prop_assert_eq!(buf[0], message.message_type());
        prop_assert_eq!(InboundMessage::decode(&buf[..len]), Ok(message));
    }

    #[test]
    fn outbound_round_trips(message in outbound()) {
        let mut buf = [0u8; MAX_MESSAGE_LEN];
        let len = message.encode(&mut buf).unwrap();
        prop_assert_eq!(len, message.encoded_len());
        prop_assert_eq!(buf[0], message.message_type());
        prop_assert_eq!(OutboundMessage::decode(&buf[..len]), Ok(message));
    }

    /// Any bytes of the right length decode, and re-encode to the same bytes.
    #[test]
    fn any_bytes_of_a_valid_length_round_trip(
        message_type in prop::sample::select(b"SAUCDEBJPITM".as_slice()),
        body in prop::collection::vec(any::<u8>(), 79),
    ) {
        let len = OutboundMessage::len_of_type(message_type).unwrap();
        let mut bytes = vec![message_type];
        bytes.extend_from_slice(&body[..len - 1]);
        let message = OutboundMessage::decode(&bytes).unwrap();
        let mut buf = [0u8; MAX_MESSAGE_LEN];
        let written = message.encode(&mut buf).unwrap();
        prop_assert_eq!(&buf[..written], bytes.as_slice());
    }

    #[test]
    fn wrong_lengths_are_rejected(
        message_type in prop::sample::select(b"OUXM".as_slice()),
        len in 1usize..100,
    ) {
        let expected = InboundMessage::len_of_type(message_type).unwrap();
        prop_assume!(len != expected);
        let mut bytes = vec![b' '; len];
        bytes[0] = message_type;
        prop_assert_eq!(
            InboundMessage::decode(&bytes),
            Err(OuchError::WrongLength { message_type, expected, actual: len })
        );
    }

    #[test]
    fn counter_tokens_round_trip(prefix in "[A-Z0-9]{0,8}", counter in any::<u64>()) {
        let prefix = TokenPrefix::new(prefix.as_bytes()).unwrap();
        match Token::from_counter(&prefix, counter) {
            Ok(token) => {
                prop_assert!(token.as_bytes().iter().all(u8::is_ascii_alphanumeric));
                prop_assert_eq!(token.counter(&prefix), Some(counter));
            }
            Err(error) => {
                prop_assert!(counter > prefix.max_counter());
                prop_assert_eq!(
                    error,
                    OuchError::TokenCounterOverflow { counter, max: prefix.max_counter() }
                );
            }
        }
    }

    #[test]
    fn distinct_counters_give_distinct_tokens(a in any::<u32>(), b in any::<u32>()) {
        prop_assume!(a != b);
        let prefix = TokenPrefix::new(b"X").unwrap();
        let a = Token::from_counter(&prefix, u64::from(a)).unwrap();
        let b = Token::from_counter(&prefix, u64::from(b)).unwrap();
        prop_assert_ne!(a, b);
    }
}
