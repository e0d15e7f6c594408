//! A scripted UFO venue for in-process engine tests and benchmarks: it runs over the
//! in-memory backend, answers with the protocol codecs, and keeps what it received. The
//! end-to-end tests use the real venue simulator (`tickwire-venue`) instead.
#![allow(
    clippy::missing_panics_doc,
    reason = "test support: a panic is a test failure"
)]

use std::{collections::HashMap, net::SocketAddrV4};

use tickwire_protocol::{
    ouch::{self, InboundMessage, OutboundMessage},
    soupbintcp::Session,
    ufo::{DataKind, DataPacketWriter, Packet, ServerStatus},
};

use crate::{engine::Engine, io::memory::MemoryIo};

/// A scripted UFO venue: logs the engine in, accepts every order, confirms replaces and
/// cancels, answers heartbeats and acknowledges client data.
#[derive(Debug)]
pub struct Counterpart {
    session: Session,
    next_server: u64,
    next_client: u64,
    /// Working orders by token.
    pub orders: HashMap<[u8; 14], ouch::EnterOrder>,
    /// Every OUCH message received, in order.
    pub received: Vec<InboundMessage>,
    reference: u64,
    venue: SocketAddrV4,
}

impl Counterpart {
    /// A counterpart at `venue` (the address the engine's `[venue] server` names).
    ///
    /// # Panics
    /// Never: the session name is a valid constant.
    #[must_use]
    pub fn new(venue: SocketAddrV4) -> Self {
        Self {
            venue,
            session: Session::from_text(b"VENUE00001").unwrap_or_else(|_| unreachable!()),
            next_server: 1,
            next_client: 1,
            orders: HashMap::new(),
            received: Vec::new(),
            reference: 1000,
        }
    }

    fn sequenced(&mut self, messages: &[OutboundMessage]) -> Vec<u8> {
        let mut out = vec![0u8; 1400];
        let mut writer = DataPacketWriter::new(
            &mut out,
            DataKind::Sequenced,
            &self.session,
            self.next_server,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        for message in messages {
            let slot = writer
                .reserve(message.encoded_len())
                .unwrap_or_else(|error| panic!("{error}"));
            message
                .encode(slot)
                .unwrap_or_else(|error| panic!("{error}"));
            self.next_server += 1;
        }
        let len = writer.finish().unwrap_or_else(|error| panic!("{error}"));
        out.truncate(len);
        out
    }

    /// Answers every datagram the engine sent to the venue (and forgets all sent frames);
    /// returns the datagrams to inject back.
    pub fn answer(&mut self, engine: &mut Engine<MemoryIo>) -> Vec<Vec<u8>> {
        let venue = self.venue;
        let sent: Vec<Vec<u8>> = engine
            .io()
            .sent_datagrams()
            .filter(|(dst, _)| *dst == venue)
            .map(|(_, payload)| payload.to_vec())
            .collect();
        engine.io_mut().clear_sent();
        let mut replies = Vec::new();
        for datagram in sent {
            match Packet::decode_from_client(&datagram).unwrap_or_else(|error| panic!("{error}")) {
                Packet::ClientHeartbeat(_) => {
                    let mut out = vec![0u8; 64];
                    let len = Packet::ServerHeartbeat(ServerStatus {
                        session: self.session,
                        next_sequence_number: self.next_server,
                        next_client_sequence_number: self.next_client,
                    })
                    .encode(&mut out)
                    .unwrap_or_else(|error| panic!("{error}"));
                    out.truncate(len);
                    replies.push(out);
                }
                Packet::LoginRequest(_) => {
                    let mut out = vec![0u8; 64];
                    let len = Packet::LoginAccepted(ServerStatus {
                        session: self.session,
                        next_sequence_number: self.next_server,
                        next_client_sequence_number: self.next_client,
                    })
                    .encode(&mut out)
                    .unwrap_or_else(|error| panic!("{error}"));
                    out.truncate(len);
                    replies.push(out);
                }
                Packet::ClientData(data) => {
                    let mut responses = Vec::new();
                    for (offset, bytes) in data.messages().enumerate() {
                        let sequence = data.sequence_number + offset as u64;
                        if sequence != self.next_client {
                            continue;
                        }
                        self.next_client += 1;
                        let message =
                            InboundMessage::decode(bytes).unwrap_or_else(|error| panic!("{error}"));
                        self.received.push(message);
                        match message {
                            InboundMessage::EnterOrder(enter) => {
                                self.reference += 1;
                                self.orders.insert(*enter.token.as_bytes(), enter);
                                responses.push(OutboundMessage::Accepted(ouch::Accepted {
                                    timestamp_ns: 0,
                                    token: enter.token,
                                    side: enter.side,
                                    shares: enter.shares,
                                    stock: enter.stock,
                                    price: enter.price,
                                    time_in_force: enter.time_in_force,
                                    firm: enter.firm,
                                    display: enter.display,
                                    order_reference_number: self.reference,
                                    capacity: enter.capacity,
                                    intermarket_sweep: enter.intermarket_sweep,
                                    minimum_quantity: 0,
                                    cross_type: enter.cross_type,
                                    order_state: ouch::OrderState::LIVE,
                                    bbo_weight: ouch::BboWeight::UNSPECIFIED,
                                }));
                            }
                            InboundMessage::CancelOrder(cancel) => {
                                if let Some(order) = self.orders.remove(cancel.token.as_bytes()) {
                                    responses.push(OutboundMessage::Canceled(ouch::Canceled {
                                        timestamp_ns: 0,
                                        token: cancel.token,
                                        decrement_shares: order.shares,
                                        reason: ouch::CancelReason::USER_REQUESTED,
                                    }));
                                }
                            }
                            InboundMessage::ReplaceOrder(replace) => {
                                if let Some(mut order) =
                                    self.orders.remove(replace.existing_token.as_bytes())
                                {
                                    order.token = replace.replacement_token;
                                    order.price = replace.price;
                                    order.shares = replace.shares;
                                    self.orders
                                        .insert(*replace.replacement_token.as_bytes(), order);
                                    self.reference += 1;
                                    responses.push(OutboundMessage::Replaced(ouch::Replaced {
                                        timestamp_ns: 0,
                                        replacement_token: replace.replacement_token,
                                        side: order.side,
                                        shares: replace.shares,
                                        stock: order.stock,
                                        price: replace.price,
                                        time_in_force: replace.time_in_force,
                                        firm: order.firm,
                                        display: replace.display,
                                        order_reference_number: self.reference,
                                        capacity: order.capacity,
                                        intermarket_sweep: replace.intermarket_sweep,
                                        minimum_quantity: 0,
                                        cross_type: order.cross_type,
                                        order_state: ouch::OrderState::LIVE,
                                        previous_token: replace.existing_token,
                                        bbo_weight: ouch::BboWeight::UNSPECIFIED,
                                    }));
                                }
                            }
                            InboundMessage::ModifyOrder(_) => {}
                        }
                    }
                    for chunk in responses.chunks(10) {
                        replies.push(self.sequenced(chunk));
                    }
                    // Acknowledge, as a venue's next heartbeat would.
                    let mut out = vec![0u8; 64];
                    let len = Packet::ServerHeartbeat(ServerStatus {
                        session: self.session,
                        next_sequence_number: self.next_server,
                        next_client_sequence_number: self.next_client,
                    })
                    .encode(&mut out)
                    .unwrap_or_else(|error| panic!("{error}"));
                    out.truncate(len);
                    replies.push(out);
                }
                _ => {}
            }
        }
        replies
    }
}
