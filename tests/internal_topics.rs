//! Regression: clients could produce to (and DeleteRecords on)
//! `__consumer_offsets`, which would change or lose committed offsets at the
//! next replay. Kafka refuses both with INVALID_TOPIC_EXCEPTION.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw::Raw;
use common::*;
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{DeleteRecordsRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_cannot_write_or_trim_internal_topics() {
    let broker = TestBroker::start().await;
    let addr = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&addr);
        let name = TopicName(StrBytes::from_static_str("__consumer_offsets"));
        let batch = common::batch::one_record_batch(b"k", b"v");
        let resp = raw.call(
            9,
            &ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(5000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(name.clone())
                    .with_partition_data(vec![PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(batch.into()))])]),
        );
        assert_eq!(
            resp.responses[0].partition_responses[0].error_code, 17,
            "INVALID_TOPIC_EXCEPTION"
        );
        let resp = raw.call(
            2,
            &DeleteRecordsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(vec![DeleteRecordsTopic::default()
                    .with_name(name)
                    .with_partitions(vec![DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(-1)])]),
        );
        assert_eq!(
            resp.topics[0].partitions[0].error_code, 17,
            "INVALID_TOPIC_EXCEPTION"
        );
    })
    .await
    .unwrap();
}
