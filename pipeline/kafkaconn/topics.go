package kafkaconn

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LookupTopics asks the cluster about exactly the named topics and returns
// the details of those that exist and that this principal may describe.
//
// Listing every topic cannot tell "does not exist" from "not allowed": Kafka
// leaves out of a full listing the topics a principal may not DESCRIBE. Asked
// by name, it answers TOPIC_AUTHORIZATION_FAILED for those (whether or not
// they exist, so as not to tell) and UNKNOWN_TOPIC_OR_PARTITION only for a
// topic that is missing and that the principal could see.
//
// The error joins, in the order the topics were given, a
// [*MissingTopicError] for each topic that does not exist and an
// [*AuthorizationError] (ResourceTopic, named) for each the principal may
// not describe; or it is the error of the request alone when the cluster
// could not be asked (classify it with [Config.Diagnose] or [Classify]). The metadata is read
// fresh from a broker, not from the client's cache, so a topic created a
// moment ago is seen.
func LookupTopics(ctx context.Context, adm *kadm.Client, topics ...string) (kadm.TopicDetails, error) {
	if len(topics) == 0 {
		return kadm.TopicDetails{}, nil
	}
	// WithAuthorizedOps makes kadm ask a broker directly instead of using
	// the client's metadata cache, and adds what the principal may do.
	ctx = kadm.WithAuthorizedOps(ctx)
	md, err := adm.Metadata(ctx, topics...)
	var denied *kadm.AuthError
	if errors.As(err, &denied) && len(topics) > 1 {
		// kadm fails the whole request when any one topic is denied,
		// without saying which: ask for each on its own.
		return lookupEach(ctx, adm, topics)
	}
	if err != nil {
		return nil, Named(ResourceTopic, only(topics), err)
	}
	return sortOut(topics, md.Topics)
}

// only returns the topic's name when there is one, for naming it in an
// authorization error; with several the failing one is unknown.
func only(topics []string) string {
	if len(topics) == 1 {
		return topics[0]
	}
	return ""
}

func lookupEach(ctx context.Context, adm *kadm.Client, topics []string) (kadm.TopicDetails, error) {
	all := kadm.TopicDetails{}
	var errs []error
	for _, t := range topics {
		md, err := adm.Metadata(ctx, t)
		var denied *kadm.AuthError
		switch {
		case errors.As(err, &denied):
			errs = append(errs, Named(ResourceTopic, t, err))
			continue
		case err != nil:
			return nil, err
		}
		found, err := sortOut([]string{t}, md.Topics)
		if err != nil {
			errs = append(errs, err)
		}
		for name, td := range found {
			all[name] = td
		}
	}
	return all, errors.Join(errs...)
}

// sortOut splits a metadata answer into the topics found and the errors of
// the others, in the order asked.
func sortOut(topics []string, details kadm.TopicDetails) (kadm.TopicDetails, error) {
	found := kadm.TopicDetails{}
	var errs []error
	for _, t := range topics {
		td, ok := details[t]
		switch {
		case !ok, errors.Is(td.Err, kerr.UnknownTopicOrPartition):
			errs = append(errs, &MissingTopicError{Topic: t})
		case td.Err != nil:
			errs = append(errs, Named(ResourceTopic, t, fmt.Errorf("topic %s: %w", t, td.Err)))
		default:
			found[t] = td
		}
	}
	return found, errors.Join(errs...)
}

// CheckTopics returns nil when every named topic exists and this principal
// may describe it, else the error [LookupTopics] returns: per topic, a
// [*MissingTopicError] or an [*AuthorizationError], so that callers can tell
// the two apart with errors.Is(err, ErrTopicMissing) and
// errors.Is(err, ErrAuthorization), or errors.As for the topic's name.
func CheckTopics(ctx context.Context, adm *kadm.Client, topics ...string) error {
	_, err := LookupTopics(ctx, adm, topics...)
	return err
}

// MayDescribeCluster reports whether this principal has DESCRIBE on the
// cluster, which decides what listing consumer groups returns: every group
// with it, only the groups the principal may DESCRIBE without it (Kafka
// says nothing of the others). It asks with a DescribeCluster request,
// which any principal may send.
func MayDescribeCluster(ctx context.Context, cl *kgo.Client) (bool, error) {
	req := kmsg.NewPtrDescribeClusterRequest()
	req.IncludeClusterAuthorizedOperations = true
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return false, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return false, fmt.Errorf("describe cluster: %w", err)
	}
	// Kafka leaves the field at its "not given" value, math.MinInt32,
	// unless the principal may DESCRIBE the cluster.
	return slices.Contains(kadm.DecodeACLOperations(resp.ClusterAuthorizedOperations), kadm.OpDescribe), nil
}
