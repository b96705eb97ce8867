/*
 * Stand-ins for Kafka's bin/kafka-topics.sh and bin/kafka-acls.sh (JVM
 * tools), enough for librdkafka's test suite: test_kafka_topics() and
 * test_kafka_cmd() in tests/test.c run them (0045, 0052 and 0077 create
 * topics with configs, 0109 adds a denying ACL). They speak the admin API
 * through the built librdkafka, so no JVM is needed. install.sh builds this
 * file as build/kafka/bin/kafka-tools; kafka-topics.sh and kafka-acls.sh there
 * run `kafka-tools topics ...` and `kafka-tools acls ...`.
 *
 *   kafka-topics.sh --bootstrap-server B --create --topic T [--partitions N]
 *                   [--replication-factor R] [--config k=v]...
 *   kafka-topics.sh --bootstrap-server B --delete --topic T
 *   kafka-topics.sh --bootstrap-server B --alter --topic T --partitions N
 *   kafka-topics.sh --bootstrap-server B --describe --topic T
 *   kafka-acls.sh --bootstrap-server B --add
 *                 (--allow-principal P|--deny-principal P) --operation OP
 *                 [--allow-host H|--deny-host H] (--topic T|--group G)
 *
 * --create without --partitions leaves the count to the broker's default;
 * --describe prints "Topic: T<TAB>PartitionCount: N" (run.sh uses it to check
 * that the broker makes 4 partitions per new topic, as the test scenarios do).
 * Exit status 0 on success, 1 with the broker's error on stderr otherwise,
 * 2 for a usage error.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rdkafka.h" /* built librdkafka: -I build/src-2.12.1/src */

#define MAX_CONFIGS 32
#define TIMEOUT_MS 30000

static int usage(void) {
        fprintf(stderr,
                "usage: kafka-tools topics --bootstrap-server B "
                "(--create|--delete|--alter|--describe) --topic T "
                "[--partitions N] [--replication-factor R] [--config k=v]...\n"
                "       kafka-tools acls --bootstrap-server B --add "
                "(--allow-principal P|--deny-principal P) --operation OP "
                "[--allow-host H|--deny-host H] (--topic T|--group G)\n");
        return 2;
}

static int check(const char *what, rd_kafka_resp_err_t err, const char *msg) {
        if (err) {
                fprintf(stderr, "kafka-tools: %s: %s: %s\n", what,
                        rd_kafka_err2name(err), msg ? msg : "");
                return 1;
        }
        return 0;
}

static rd_kafka_t *client(const char *bootstrap, int auto_create) {
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;

        if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK ||
            (!auto_create &&
             rd_kafka_conf_set(conf, "allow.auto.create.topics", "false",
                               errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)) {
                fprintf(stderr, "kafka-tools: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk)
                fprintf(stderr, "kafka-tools: %s\n", errstr);
        return rk;
}

static rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk) {
        char errstr[512];
        rd_kafka_AdminOptions_t *opts =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
        rd_kafka_AdminOptions_set_operation_timeout(opts, TIMEOUT_MS, errstr,
                                                    sizeof(errstr));
        rd_kafka_AdminOptions_set_request_timeout(opts, TIMEOUT_MS, errstr,
                                                  sizeof(errstr));
        return opts;
}

/* The result event of an admin call, or NULL (reported) on a timeout or a
 * request-level error. */
static rd_kafka_event_t *wait_result(rd_kafka_queue_t *q, const char *what) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 2 * TIMEOUT_MS);
        if (!ev) {
                fprintf(stderr, "kafka-tools: no %s result in %ds\n", what,
                        2 * TIMEOUT_MS / 1000);
                return NULL;
        }
        if (check(what, rd_kafka_event_error(ev),
                  rd_kafka_event_error_string(ev))) {
                rd_kafka_event_destroy(ev);
                return NULL;
        }
        return ev;
}

/* One topic result out of a CreateTopics/DeleteTopics/CreatePartitions
 * result event. */
static int topic_result(const char *what,
                        const rd_kafka_topic_result_t **res,
                        size_t cnt) {
        if (cnt != 1) {
                fprintf(stderr, "kafka-tools: %s: %zu topic results\n", what,
                        cnt);
                return 1;
        }
        return check(what, rd_kafka_topic_result_error(res[0]),
                     rd_kafka_topic_result_error_string(res[0]));
}

/* Partition count of an existing topic, from a Metadata request for it. */
static int describe(rd_kafka_t *rk, const char *topic) {
        rd_kafka_topic_t *rkt                = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err;
        int rc;

        err = rd_kafka_metadata(rk, 0, rkt, &md, TIMEOUT_MS);
        if (!err && md->topic_cnt != 1)
                err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (!err)
                err = md->topics[0].err;
        rc = check("describe", err, NULL);
        if (!rc)
                printf("Topic: %s\tPartitionCount: %d\n", topic,
                       md->topics[0].partition_cnt);
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return rc;
}

static int topics(int argc, char **argv) {
        const char *bootstrap = NULL, *topic = NULL, *op = NULL;
        int partitions = -1, replication = -1, nconfigs = 0, i, rc = 1;
        char *configs[MAX_CONFIGS];
        char errstr[512];
        rd_kafka_t *rk;
        rd_kafka_queue_t *q;
        rd_kafka_AdminOptions_t *opts;
        rd_kafka_event_t *ev;

        for (i = 0; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!strcmp(a, "--create") || !strcmp(a, "--delete") ||
                    !strcmp(a, "--alter") || !strcmp(a, "--describe"))
                        op = a + 2;
                else if (!v)
                        return usage();
                else if (!strcmp(a, "--bootstrap-server"))
                        bootstrap = argv[++i];
                else if (!strcmp(a, "--topic"))
                        topic = argv[++i];
                else if (!strcmp(a, "--partitions"))
                        partitions = atoi(argv[++i]);
                else if (!strcmp(a, "--replication-factor"))
                        replication = atoi(argv[++i]);
                else if (!strcmp(a, "--config") && nconfigs < MAX_CONFIGS &&
                         strchr(v, '='))
                        configs[nconfigs++] = argv[++i];
                else
                        return usage();
        }
        if (!bootstrap || !topic || !op ||
            (!strcmp(op, "alter") && partitions < 1))
                return usage();

        /* --describe must not create the topic it looks up. */
        rk = client(bootstrap, strcmp(op, "describe") != 0);
        if (!rk)
                return 1;
        if (!strcmp(op, "describe")) {
                rc = describe(rk, topic);
                rd_kafka_destroy(rk);
                return rc;
        }

        q    = rd_kafka_queue_new(rk);
        opts = admin_options(rk);
        if (!strcmp(op, "create")) {
                rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(
                    topic, partitions, replication, errstr, sizeof(errstr));
                if (!nt) {
                        fprintf(stderr, "kafka-tools: %s\n", errstr);
                        goto done;
                }
                for (i = 0; i < nconfigs; i++) {
                        char *eq = strchr(configs[i], '=');
                        *eq      = '\0';
                        rd_kafka_NewTopic_set_config(nt, configs[i], eq + 1);
                }
                rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
                rd_kafka_NewTopic_destroy(nt);
        } else if (!strcmp(op, "delete")) {
                rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
                rd_kafka_DeleteTopics(rk, &dt, 1, opts, q);
                rd_kafka_DeleteTopic_destroy(dt);
        } else {
                rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(
                    topic, partitions, errstr, sizeof(errstr));
                rd_kafka_CreatePartitions(rk, &np, 1, opts, q);
                rd_kafka_NewPartitions_destroy(np);
        }

        ev = wait_result(q, op);
        if (ev) {
                size_t cnt                          = 0;
                const rd_kafka_topic_result_t **res = NULL;
                if (!strcmp(op, "create"))
                        res = rd_kafka_CreateTopics_result_topics(
                            rd_kafka_event_CreateTopics_result(ev), &cnt);
                else if (!strcmp(op, "delete"))
                        res = rd_kafka_DeleteTopics_result_topics(
                            rd_kafka_event_DeleteTopics_result(ev), &cnt);
                else
                        res = rd_kafka_CreatePartitions_result_topics(
                            rd_kafka_event_CreatePartitions_result(ev), &cnt);
                rc = topic_result(op, res, cnt);
                rd_kafka_event_destroy(ev);
        }
done:
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
        return rc;
}

/* "All", "Read", "DescribeConfigs", "describe_configs", ... -> operation. */
static rd_kafka_AclOperation_t acl_operation(const char *name) {
        int op;
        for (op = RD_KAFKA_ACL_OPERATION_ALL; op < RD_KAFKA_ACL_OPERATION__CNT;
             op++) {
                const char *a = rd_kafka_AclOperation_name(op), *b = name;
                while (*a || *b) {
                        if (*a == '_') {
                                a++;
                                continue;
                        }
                        if (*b == '_' || *b == '-') {
                                b++;
                                continue;
                        }
                        if (toupper((unsigned char)*a) !=
                            toupper((unsigned char)*b))
                                break;
                        a++;
                        b++;
                }
                if (!*a && !*b)
                        return (rd_kafka_AclOperation_t)op;
        }
        return RD_KAFKA_ACL_OPERATION_UNKNOWN;
}

static int acls(int argc, char **argv) {
        const char *bootstrap = NULL, *principal = NULL, *host = "*",
                   *resource = NULL;
        rd_kafka_ResourceType_t restype    = RD_KAFKA_RESOURCE_UNKNOWN;
        rd_kafka_AclPermissionType_t perm  = RD_KAFKA_ACL_PERMISSION_TYPE_UNKNOWN;
        rd_kafka_AclOperation_t operation  = RD_KAFKA_ACL_OPERATION_UNKNOWN;
        int add = 0, i, rc = 1;
        char errstr[512];
        rd_kafka_t *rk;
        rd_kafka_queue_t *q;
        rd_kafka_AdminOptions_t *opts;
        rd_kafka_AclBinding_t *acl;
        rd_kafka_event_t *ev;

        for (i = 0; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!strcmp(a, "--add"))
                        add = 1;
                else if (!v)
                        return usage();
                else if (!strcmp(a, "--bootstrap-server"))
                        bootstrap = argv[++i];
                else if (!strcmp(a, "--allow-principal") ||
                         !strcmp(a, "--deny-principal")) {
                        perm = a[2] == 'a' ? RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW
                                           : RD_KAFKA_ACL_PERMISSION_TYPE_DENY;
                        principal = argv[++i];
                } else if (!strcmp(a, "--allow-host") ||
                           !strcmp(a, "--deny-host"))
                        host = argv[++i];
                else if (!strcmp(a, "--operation")) {
                        operation = acl_operation(v);
                        if (operation == RD_KAFKA_ACL_OPERATION_UNKNOWN)
                                return usage();
                        i++;
                } else if (!strcmp(a, "--topic") || !strcmp(a, "--group")) {
                        restype  = a[2] == 't' ? RD_KAFKA_RESOURCE_TOPIC
                                               : RD_KAFKA_RESOURCE_GROUP;
                        resource = argv[++i];
                } else
                        return usage();
        }
        if (!add || !bootstrap || !principal || !resource ||
            operation == RD_KAFKA_ACL_OPERATION_UNKNOWN)
                return usage();

        rk = client(bootstrap, 0);
        if (!rk)
                return 1;
        acl = rd_kafka_AclBinding_new(
            restype, resource, RD_KAFKA_RESOURCE_PATTERN_LITERAL, principal,
            host, operation, perm, errstr, sizeof(errstr));
        if (!acl) {
                fprintf(stderr, "kafka-tools: %s\n", errstr);
                rd_kafka_destroy(rk);
                return 1;
        }
        q    = rd_kafka_queue_new(rk);
        opts = admin_options(rk);
        rd_kafka_CreateAcls(rk, &acl, 1, opts, q);
        rd_kafka_AclBinding_destroy(acl);

        ev = wait_result(q, "CreateAcls");
        if (ev) {
                size_t cnt = 0;
                const rd_kafka_acl_result_t **res =
                    rd_kafka_CreateAcls_result_acls(
                        rd_kafka_event_CreateAcls_result(ev), &cnt);
                const rd_kafka_error_t *error =
                    cnt == 1 ? rd_kafka_acl_result_error(res[0]) : NULL;
                if (cnt != 1)
                        fprintf(stderr, "kafka-tools: CreateAcls: %zu results\n",
                                cnt);
                else
                        rc = error ? check("CreateAcls",
                                           rd_kafka_error_code(error),
                                           rd_kafka_error_string(error))
                                   : 0;
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
        return rc;
}

int main(int argc, char **argv) {
        if (argc >= 2 && !strcmp(argv[1], "topics"))
                return topics(argc - 2, argv + 2);
        if (argc >= 2 && !strcmp(argv[1], "acls"))
                return acls(argc - 2, argv + 2);
        return usage();
}
