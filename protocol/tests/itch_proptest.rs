//! Property tests for the ITCH 5.0 codec: struct → bytes → struct round trips for every
//! message type with arbitrary field values, bytes → struct → bytes for arbitrary wire bytes,
//! and the BinaryFILE reader on arbitrary and on generated files.

use proptest::prelude::*;
use tickwire_protocol::itch::{
    self, AddOrder, AddOrderMpid, Alpha, BinaryFileError, BinaryFileReader, BrokenTrade,
    CrossTrade, DirectListingCapitalRaise, IpoQuotingPeriodUpdate, ItchError, LuldAuctionCollar,
    MAX_MESSAGE_LEN, MAX_TIMESTAMP, MESSAGE_TYPES, MarketParticipantPosition, Message,
    MwcbDeclineLevel, MwcbStatus, Noii, OperationalHalt, OrderCancel, OrderDelete, OrderExecuted,
    OrderExecutedWithPrice, OrderReplace, RegShoRestriction, RetailPriceImprovement,
    StockDirectory, StockTradingAction, SystemEvent, Trade,
};

/// Stock Locate, Tracking Number, Timestamp.
fn header() -> impl Strategy<Value = (u16, u16, u64)> {
    (any::<u16>(), any::<u16>(), 0..=MAX_TIMESTAMP)
}

fn alpha<const N: usize>() -> impl Strategy<Value = Alpha<N>> {
    any::<[u8; N]>().prop_map(Alpha)
}

/// Encodes, decodes (generic and per-type), frames and writes JSON; checks all agree.
fn check(message: Message) -> Result<(), TestCaseError> {
    let mut out = [0u8; MAX_MESSAGE_LEN + 1];
    let written = message.encode(&mut out)?;
    prop_assert_eq!(written, message.encoded_len());
    prop_assert_eq!(Some(written), itch::message_len(message.message_type()));
    let bytes = &out[..written];
    prop_assert_eq!(bytes[0], message.message_type());
    prop_assert_eq!(itch::decode(bytes)?, message);

    // The buffer one byte short is refused without writing.
    let mut short = [0xa5u8; MAX_MESSAGE_LEN];
    let error = message
        .encode(&mut short[..written - 1])
        .expect_err("too short");
    let is_buffer_too_small = matches!(error, ItchError::BufferTooSmall { .. });
    prop_assert!(is_buffer_too_small);
    prop_assert!(short.iter().all(|&byte| byte == 0xa5));

    // Framed with an explicit and with a zero length field, the reader gives it back.
    for length_field in [written as u16, 0] {
        let mut file = length_field.to_be_bytes().to_vec();
        file.extend_from_slice(bytes);
        let items: Vec<_> = BinaryFileReader::new(&file).collect();
        prop_assert_eq!(items, vec![Ok((0, bytes))]);
    }

    let mut json = String::new();
    message.write_json(&mut json);
    let prefix = format!("{{\"type\":\"{}\",", char::from(message.message_type()));
    prop_assert!(json.starts_with(&prefix), "{}", json);
    prop_assert!(json.ends_with('}'), "{}", json);
    prop_assert!(json.chars().all(|c| (' '..='~').contains(&c)), "{}", json);
    Ok(())
}

/// A proptest that builds `$ty` from the header and the listed field strategies and checks
/// the round trip, including the per-type decoder.
macro_rules! round_trip {
    ($test:ident, $ty:ident { $($field:ident in $strategy:expr),+ $(,)? }) => {
        proptest! {
            #[test]
            fn $test(header in header(), $($field in $strategy),+) {
                let message = $ty {
                    stock_locate: header.0,
                    tracking_number: header.1,
                    timestamp: header.2,
                    $($field),+
                };
                let mut out = [0u8; $ty::LEN];
                prop_assert_eq!(message.encode(&mut out)?, $ty::LEN);
                prop_assert_eq!($ty::decode(&out)?, message);
                check(Message::from(message))?;
            }
        }
    };
}

round_trip!(system_event, SystemEvent { event_code in any::<u8>() });
round_trip!(stock_directory, StockDirectory {
    stock in alpha::<8>(),
    market_category in any::<u8>(),
    financial_status_indicator in any::<u8>(),
    round_lot_size in any::<u32>(),
    round_lots_only in any::<u8>(),
    issue_classification in any::<u8>(),
    issue_sub_type in alpha::<2>(),
    authenticity in any::<u8>(),
    short_sale_threshold_indicator in any::<u8>(),
    ipo_flag in any::<u8>(),
    luld_reference_price_tier in any::<u8>(),
    etp_flag in any::<u8>(),
    etp_leverage_factor in any::<u32>(),
    inverse_indicator in any::<u8>(),
});
round_trip!(stock_trading_action, StockTradingAction {
    stock in alpha::<8>(),
    trading_state in any::<u8>(),
    reserved in any::<u8>(),
    reason in alpha::<4>(),
});
round_trip!(reg_sho_restriction, RegShoRestriction {
    stock in alpha::<8>(),
    reg_sho_action in any::<u8>(),
});
round_trip!(market_participant_position, MarketParticipantPosition {
    mpid in alpha::<4>(),
    stock in alpha::<8>(),
    primary_market_maker in any::<u8>(),
    market_maker_mode in any::<u8>(),
    market_participant_state in any::<u8>(),
});
round_trip!(mwcb_decline_level, MwcbDeclineLevel {
    level_1 in any::<u64>(),
    level_2 in any::<u64>(),
    level_3 in any::<u64>(),
});
round_trip!(mwcb_status, MwcbStatus { breached_level in any::<u8>() });
round_trip!(ipo_quoting_period_update, IpoQuotingPeriodUpdate {
    stock in alpha::<8>(),
    ipo_quotation_release_time in any::<u32>(),
    ipo_quotation_release_qualifier in any::<u8>(),
    ipo_price in any::<u32>(),
});
round_trip!(luld_auction_collar, LuldAuctionCollar {
    stock in alpha::<8>(),
    auction_collar_reference_price in any::<u32>(),
    upper_auction_collar_price in any::<u32>(),
    lower_auction_collar_price in any::<u32>(),
    auction_collar_extension in any::<u32>(),
});
round_trip!(operational_halt, OperationalHalt {
    stock in alpha::<8>(),
    market_code in any::<u8>(),
    operational_halt_action in any::<u8>(),
});
round_trip!(add_order, AddOrder {
    order_reference_number in any::<u64>(),
    buy_sell_indicator in any::<u8>(),
    shares in any::<u32>(),
    stock in alpha::<8>(),
    price in any::<u32>(),
});
round_trip!(add_order_mpid, AddOrderMpid {
    order_reference_number in any::<u64>(),
    buy_sell_indicator in any::<u8>(),
    shares in any::<u32>(),
    stock in alpha::<8>(),
    price in any::<u32>(),
    attribution in alpha::<4>(),
});
round_trip!(order_executed, OrderExecuted {
    order_reference_number in any::<u64>(),
    executed_shares in any::<u32>(),
    match_number in any::<u64>(),
});
round_trip!(order_executed_with_price, OrderExecutedWithPrice {
    order_reference_number in any::<u64>(),
    executed_shares in any::<u32>(),
    match_number in any::<u64>(),
    printable in any::<u8>(),
    execution_price in any::<u32>(),
});
round_trip!(order_cancel, OrderCancel {
    order_reference_number in any::<u64>(),
    canceled_shares in any::<u32>(),
});
round_trip!(order_delete, OrderDelete { order_reference_number in any::<u64>() });
round_trip!(order_replace, OrderReplace {
    original_order_reference_number in any::<u64>(),
    new_order_reference_number in any::<u64>(),
    shares in any::<u32>(),
    price in any::<u32>(),
});
round_trip!(trade, Trade {
    order_reference_number in any::<u64>(),
    buy_sell_indicator in any::<u8>(),
    shares in any::<u32>(),
    stock in alpha::<8>(),
    price in any::<u32>(),
    match_number in any::<u64>(),
});
round_trip!(cross_trade, CrossTrade {
    shares in any::<u64>(),
    stock in alpha::<8>(),
    cross_price in any::<u32>(),
    match_number in any::<u64>(),
    cross_type in any::<u8>(),
});
round_trip!(broken_trade, BrokenTrade { match_number in any::<u64>() });
round_trip!(noii, Noii {
    paired_shares in any::<u64>(),
    imbalance_shares in any::<u64>(),
    imbalance_direction in any::<u8>(),
    stock in alpha::<8>(),
    far_price in any::<u32>(),
    near_price in any::<u32>(),
    current_reference_price in any::<u32>(),
    cross_type in any::<u8>(),
    price_variation_indicator in any::<u8>(),
});
round_trip!(retail_price_improvement, RetailPriceImprovement {
    stock in alpha::<8>(),
    interest_flag in any::<u8>(),
});
round_trip!(direct_listing_capital_raise, DirectListingCapitalRaise {
    stock in alpha::<8>(),
    open_eligibility_status in any::<u8>(),
    minimum_allowable_price in any::<u32>(),
    maximum_allowable_price in any::<u32>(),
    near_execution_price in any::<u32>(),
    near_execution_time in any::<u64>(),
    lower_price_range_collar in any::<u32>(),
    upper_price_range_collar in any::<u32>(),
});

proptest! {
    /// Every byte string of a type's length is a message, and re-encodes to itself.
    #[test]
    fn arbitrary_wire_bytes_of_every_type_round_trip(body in any::<[u8; MAX_MESSAGE_LEN]>()) {
        for &message_type in MESSAGE_TYPES {
            let len = itch::message_len(message_type).expect("known type");
            let mut bytes = body;
            bytes[0] = message_type;
            let bytes = &bytes[..len];
            let message = itch::decode(bytes)?;
            let mut out = [0u8; MAX_MESSAGE_LEN];
            prop_assert_eq!(message.encode(&mut out)?, len);
            prop_assert_eq!(&out[..len], bytes);
        }
    }

    /// Arbitrary input never panics; whatever decodes re-encodes to the same bytes.
    #[test]
    fn arbitrary_input_decodes_or_errors(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        match itch::decode(&bytes) {
            Ok(message) => {
                let mut out = [0u8; MAX_MESSAGE_LEN];
                let written = message.encode(&mut out)?;
                prop_assert_eq!(&out[..written], &bytes[..]);
            }
            Err(ItchError::Empty) => prop_assert!(bytes.is_empty()),
            Err(ItchError::UnknownType { message_type }) => {
                prop_assert_eq!(itch::message_len(message_type), None);
            }
            Err(ItchError::Length { message_type, expected, actual }) => {
                prop_assert_eq!(itch::message_len(message_type), Some(expected));
                prop_assert_ne!(expected, actual);
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    /// The reader ends on any input, yields contiguous frames that decode, and stops after
    /// its first error.
    #[test]
    fn reader_on_arbitrary_bytes(file in prop::collection::vec(any::<u8>(), 0..512)) {
        let items: Vec<_> = BinaryFileReader::new(&file).collect();
        prop_assert!(items.len() <= file.len() / 14 + 1);
        let mut next_offset = 0;
        for (index, item) in items.iter().enumerate() {
            match item {
                Ok((offset, message)) => {
                    prop_assert_eq!(*offset, next_offset);
                    prop_assert!(itch::decode(message).is_ok());
                    next_offset = offset + 2 + message.len();
                }
                Err(error) => {
                    prop_assert_eq!(index, items.len() - 1, "error is last");
                    prop_assert_eq!(error.offset(), next_offset);
                }
            }
        }
        if items.last().is_none_or(Result::is_ok) {
            prop_assert_eq!(next_offset, file.len());
        }
    }

    /// A file built from arbitrary messages, each with an explicit or a zero length field,
    /// reads back message for message.
    #[test]
    fn reader_on_generated_files(
        frames in prop::collection::vec(
            (prop::sample::select(MESSAGE_TYPES), any::<[u8; MAX_MESSAGE_LEN]>(), any::<bool>()),
            0..40,
        ),
        truncate_by in 0usize..60,
    ) {
        let mut file = Vec::new();
        let mut expected = Vec::new();
        for (message_type, body, explicit) in &frames {
            let len = itch::message_len(*message_type).expect("known type");
            let length_field = if *explicit { len as u16 } else { 0 };
            let offset = file.len();
            file.extend_from_slice(&length_field.to_be_bytes());
            file.push(*message_type);
            file.extend_from_slice(&body[1..len]);
            expected.push((offset, file[offset + 2..].to_vec()));
        }
        let items: Vec<_> = BinaryFileReader::new(&file)
            .map(|item| item.map(|(offset, message)| (offset, message.to_vec())))
            .collect();
        prop_assert_eq!(items, expected.iter().cloned().map(Ok).collect::<Vec<_>>());

        // Cutting the file short keeps the whole messages before the cut, then one error.
        let cut = file.len().saturating_sub(truncate_by);
        let items: Vec<_> = BinaryFileReader::new(&file[..cut]).collect();
        let whole = expected.iter().take_while(|(offset, message)| offset + 2 + message.len() <= cut).count();
        prop_assert_eq!(items.iter().filter(|item| item.is_ok()).count(), whole);
        let partial = expected.get(whole).is_some_and(|(offset, _)| *offset < cut);
        let ends_in_error = matches!(
            items.last(),
            Some(Err(
                BinaryFileError::TruncatedLength { .. }
                    | BinaryFileError::MissingMessage { .. }
                    | BinaryFileError::TruncatedMessage { .. }
            ))
        );
        prop_assert_eq!(ends_in_error, partial);
    }
}
