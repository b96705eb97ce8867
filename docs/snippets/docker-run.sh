# The image: the static binary FROM scratch; the build prints its size (< 20 MB).
contrib/docker/build-image.sh sluice:latest
# Kafka on 9092, HTTP on 8082, in memory; Kafka images' KAFKA_* variables work too.
docker run -d --name sluice --network host \
  -e SLUICE_EPHEMERAL=1 -e KAFKA_NUM_PARTITIONS=3 sluice:latest
# The ready line: every listener bound, every request served.
timeout 60 sh -c 'until docker logs sluice 2>&1 | grep -q "^listening on "; do sleep 0.1; done'
echo hello | kcat -b 127.0.0.1:9092 -P -t orders
kcat -b 127.0.0.1:9092 -C -t orders -o beginning -c 1 -e
docker rm -f sluice
