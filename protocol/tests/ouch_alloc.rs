//! Encoding and decoding OUCH messages (and framing them in SoupBinTCP and UFO) allocates
//! nothing: the engine does this on its hot path.

mod support;

#[global_allocator]
static ALLOCATOR: support::CountingAllocator = support::CountingAllocator;

use tickwire_protocol::ouch::{
    Accepted, BboWeight, Capacity, CrossType, CustomerType, Display, EnterOrder, Executed, Firm,
    InboundMessage, IntermarketSweep, LiquidityFlag, MAX_MESSAGE_LEN, OrderState, OutboundMessage,
    Price4, Side, Stock, TimeInForce, Token, TokenPrefix,
};
use tickwire_protocol::{soupbintcp, ufo};

fn order(token: Token) -> EnterOrder {
    EnterOrder {
        token,
        side: Side::BUY,
        shares: 100,
        stock: Stock::from_bytes(*b"AAPL    "),
        price: Price4::from_raw(1_502_500),
        time_in_force: TimeInForce::IOC,
        firm: Firm::DEFAULT,
        display: Display::ATTRIBUTABLE,
        capacity: Capacity::PRINCIPAL,
        intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
        minimum_quantity: 0,
        cross_type: CrossType::NO_CROSS,
        customer_type: CustomerType::PORT_DEFAULT,
    }
}

#[test]
fn ouch_encode_and_decode_do_not_allocate() {
    let prefix = TokenPrefix::new(b"TW").unwrap();
    let accepted = Accepted {
        timestamp_ns: 1,
        token: Token::BLANK,
        side: Side::SELL,
        shares: 5,
        stock: Stock::from_bytes(*b"MSFT    "),
        price: Price4::from_raw(10_000),
        time_in_force: TimeInForce::MARKET_HOURS,
        firm: Firm::DEFAULT,
        display: Display::NON_DISPLAY,
        order_reference_number: 9,
        capacity: Capacity::AGENCY,
        intermarket_sweep: IntermarketSweep::ELIGIBLE,
        minimum_quantity: 0,
        cross_type: CrossType::NO_CROSS,
        order_state: OrderState::LIVE,
        bbo_weight: BboWeight::UNSPECIFIED,
    };
    let executed = Executed {
        timestamp_ns: 2,
        token: Token::BLANK,
        executed_shares: 5,
        execution_price: Price4::from_raw(10_000),
        liquidity_flag: LiquidityFlag::ADDED,
        match_number: 3,
    };
    let mut buf = [0u8; MAX_MESSAGE_LEN];
    let mut frame = [0u8; 256];
    let session = soupbintcp::Session::from_text(b"SESSION1").unwrap();
    let mut checksum = 0u64;

    let before = support::allocations();
    for counter in 0..10_000u64 {
        // Engine side: token, Enter Order, framed in place in SoupBinTCP and in UFO.
        let token = Token::from_counter(&prefix, counter).unwrap();
        let enter = order(token);
        let len = enter.encode(&mut buf).unwrap();
        let decoded = InboundMessage::decode(&buf[..len]).unwrap();
        assert_eq!(decoded, InboundMessage::EnterOrder(enter));
        checksum += token.counter(&prefix).unwrap();

        let header = soupbintcp::encode_header(
            &mut frame,
            soupbintcp::PacketType::UnsequencedData,
            EnterOrder::LEN,
        )
        .unwrap();
        let body =
            <&mut [u8; EnterOrder::LEN]>::try_from(&mut frame[header..header + EnterOrder::LEN])
                .unwrap();
        enter.encode_array(body);
        let (packet, consumed) = soupbintcp::Packet::decode(&frame).unwrap().unwrap();
        assert_eq!(consumed, 3 + EnterOrder::LEN);
        let soupbintcp::Packet::UnsequencedData(payload) = packet else {
            panic!("expected Unsequenced Data");
        };
        assert_eq!(EnterOrder::decode(payload), Ok(enter));

        let mut writer =
            ufo::DataPacketWriter::new(&mut frame, ufo::DataKind::Client, &session, counter + 1)
                .unwrap();
        enter
            .encode(writer.reserve(EnterOrder::LEN).unwrap())
            .unwrap();
        let len = writer.finish().unwrap();
        let ufo::Packet::ClientData(data) = ufo::Packet::decode_from_client(&frame[..len]).unwrap()
        else {
            panic!("expected Client Data");
        };
        for message in data.messages() {
            assert_eq!(EnterOrder::decode(message), Ok(enter));
        }

        // Venue side: acknowledgements.
        for message in [
            OutboundMessage::from(Accepted { token, ..accepted }),
            OutboundMessage::from(Executed { token, ..executed }),
        ] {
            let len = message.encode(&mut buf).unwrap();
            assert_eq!(OutboundMessage::decode(&buf[..len]), Ok(message));
        }
    }
    let allocated = support::allocations() - before;
    assert_eq!(
        allocated, 0,
        "{allocated} allocations in the encode/decode loop"
    );
    assert_eq!(checksum, (0..10_000u64).sum::<u64>());
}
