package kafkaconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The failure classes, for errors.Is. Every error [Classify] recognizes is
// one of the typed errors below, each of which matches exactly one of these.
var (
	// ErrUnreachable: no broker answered ([*UnreachableError]).
	ErrUnreachable = errors.New("cannot reach Kafka")
	// ErrTLS: the TLS handshake failed or one side spoke plaintext
	// ([*TLSError]).
	ErrTLS = errors.New("TLS failure")
	// ErrAuthentication: SASL failed or was missing ([*AuthenticationError]).
	ErrAuthentication = errors.New("authentication failed")
	// ErrAuthorization: an ACL is missing ([*AuthorizationError]).
	ErrAuthorization = errors.New("not authorized")
	// ErrTopicMissing: a named topic does not exist ([*MissingTopicError]).
	ErrTopicMissing = errors.New("topic does not exist")
)

// UnreachableError is a broker that could not be dialed or did not answer.
type UnreachableError struct {
	Addr string // the address that failed, when known
	Err  error
}

func (e *UnreachableError) Error() string {
	where := "the brokers"
	if e.Addr != "" {
		where = e.Addr
	}
	return fmt.Sprintf("cannot reach Kafka at %s: check --brokers and that the brokers run and listen there (%v)", where, e.Err)
}
func (e *UnreachableError) Unwrap() error        { return e.Err }
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// TLSProblem says what went wrong in a [TLSError].
type TLSProblem int

const (
	// UntrustedCertificate: the broker's certificate is not signed by a
	// CA the client trusts, or does not name the address dialed.
	UntrustedCertificate TLSProblem = iota + 1
	// ClientCertificateRefused: the broker requires a client certificate
	// (mutual TLS) and got none, or one it does not trust.
	ClientCertificateRefused
	// TLSExpected: the listener speaks TLS, the client plaintext.
	TLSExpected
	// PlaintextExpected: the listener is plaintext, the client speaks TLS.
	PlaintextExpected
	// TLSMismatch: the broker closed the connection at once, which means
	// one of the two above (or a listener requiring SASL); which one is
	// known only with the client's settings ([Config.Diagnose] tells).
	TLSMismatch
)

// TLSError is a failed TLS handshake or a TLS/plaintext mismatch.
type TLSError struct {
	Problem TLSProblem
	Err     error
}

func (e *TLSError) Error() string {
	var msg string
	switch e.Problem {
	case UntrustedCertificate:
		if errors.As(e.Err, new(x509.HostnameError)) {
			msg = "TLS: the broker's certificate does not name the address connected to: use a host name or IP address it lists in --brokers"
		} else {
			msg = "TLS: the broker's certificate is not trusted: pass the CA that signed it with --tls-ca"
		}
	case ClientCertificateRefused:
		msg = "TLS: the broker refused the client certificate, or requires one and got none: pass --tls-cert and --tls-key with a certificate signed by a CA the broker trusts"
	case TLSExpected:
		msg = "TLS/plaintext mismatch: the listener speaks TLS and this client connected in plaintext: add --tls (and --tls-ca unless the broker's CA is in the system pool)"
	case PlaintextExpected:
		msg = "TLS/plaintext mismatch: the listener is plaintext and this client connected with TLS: drop --tls and the --tls-* files, or use the broker's TLS listener"
	default:
		msg = "the broker closed the connection at once: TLS on one side and plaintext on the other (--tls), or a listener that requires SASL (--sasl-mechanism)"
	}
	return fmt.Sprintf("%s (%v)", msg, e.Err)
}
func (e *TLSError) Unwrap() error        { return e.Err }
func (e *TLSError) Is(target error) bool { return target == ErrTLS }

// AuthProblem says what went wrong in an [AuthenticationError].
type AuthProblem int

const (
	// WrongCredentials: the broker rejected the user name or password.
	WrongCredentials AuthProblem = iota + 1
	// MechanismNotOffered: the listener does not offer the client's SASL
	// mechanism; Offered lists those it does, when known.
	MechanismNotOffered
	// SASLRequired: the listener requires SASL and the client sent none.
	SASLRequired
	// SASLNotExpected: the client sent SASL to a listener without it.
	SASLNotExpected
)

// AuthenticationError is a failed or missing SASL authentication.
// Mechanism and User are filled in by [Config.Diagnose]; the password is
// never part of it.
type AuthenticationError struct {
	Problem   AuthProblem
	Mechanism string   // the client's mechanism, when known
	User      string   // the client's user, when known
	Offered   []string // the broker's mechanisms (MechanismNotOffered), when known
	Err       error
}

func (e *AuthenticationError) Error() string {
	var msg string
	switch e.Problem {
	case MechanismNotOffered:
		mech := e.Mechanism
		if mech == "" {
			mech = "the client's mechanism"
		}
		msg = fmt.Sprintf("authentication failed: the broker does not offer SASL mechanism %s", mech)
		if len(e.Offered) > 0 {
			msg += fmt.Sprintf("; it offers %s: set --sasl-mechanism to one of them", strings.Join(e.Offered, ", "))
		} else {
			msg += ": set --sasl-mechanism to one the listener enables (sasl.enabled.mechanisms)"
		}
	case SASLRequired:
		msg = "authentication failed: the listener requires SASL and this client sent none: set --sasl-mechanism, --sasl-user and the password"
	case SASLNotExpected:
		msg = "authentication failed: the listener does not use SASL: drop --sasl-mechanism, or use the broker's SASL listener"
	default:
		who := "the SASL user"
		if e.User != "" {
			who = fmt.Sprintf("%s user %q", e.Mechanism, e.User)
		}
		msg = fmt.Sprintf("authentication failed: the broker rejected the password of %s: check --sasl-user and the password (--sasl-password-file or SLUICE_SASL_PASSWORD)", who)
	}
	return fmt.Sprintf("%s (%v)", msg, e.Err)
}
func (e *AuthenticationError) Unwrap() error        { return e.Err }
func (e *AuthenticationError) Is(target error) bool { return target == ErrAuthentication }

// Resource is the kind of Kafka resource an ACL protects.
type Resource string

// The resources whose authorization failures Kafka reports.
const (
	ResourceTopic           Resource = "topic"
	ResourceGroup           Resource = "group"
	ResourceCluster         Resource = "cluster"
	ResourceTransactionalID Resource = "transactional ID"
)

// AuthorizationError is a request refused because the principal lacks an
// ACL on a resource.
type AuthorizationError struct {
	Resource Resource
	// Name is the topic, group or transactional ID; empty for the cluster
	// or when the failing request did not say.
	Name string
	// Operation is the ACL operation that was missing, when the caller
	// knows it (kmsg.ACLOperationUnknown otherwise).
	Operation kmsg.ACLOperation
	Err       error
}

func (e *AuthorizationError) Error() string {
	what := string(e.Resource)
	if e.Name != "" {
		what += fmt.Sprintf(" %q", e.Name)
	}
	var fix string
	switch {
	case e.Operation != kmsg.ACLOperationUnknown:
		fix = fmt.Sprintf("grant this principal %s on %s", e.Operation, what)
	case e.Resource == ResourceTopic:
		fix = fmt.Sprintf("grant this principal READ (to consume) or WRITE (to produce) on %s; either includes DESCRIBE", what)
	case e.Resource == ResourceGroup:
		fix = fmt.Sprintf("grant this principal READ on %s (lagmon needs only DESCRIBE)", what)
	case e.Resource == ResourceTransactionalID:
		fix = fmt.Sprintf("grant this principal WRITE and DESCRIBE on %s", what)
	default:
		fix = "grant this principal what the request needs: WRITE on the topics it produces to (an idempotent producer needs it, or IDEMPOTENT_WRITE on the cluster), CREATE on the cluster or the topics to create topics, DESCRIBE on the cluster to list every consumer group"
	}
	return fmt.Sprintf("not authorized on %s: %s (%v)", what, fix, e.Err)
}

func (e *AuthorizationError) Unwrap() error        { return e.Err }
func (e *AuthorizationError) Is(target error) bool { return target == ErrAuthorization }

// MissingTopicError is a named topic that does not exist.
type MissingTopicError struct{ Topic string }

func (e *MissingTopicError) Error() string {
	return fmt.Sprintf("topic %q does not exist: create it, or check the topic name given", e.Topic)
}
func (e *MissingTopicError) Is(target error) bool { return target == ErrTopicMissing }

// Classify returns err as one of this package's typed errors when it
// recognizes what went wrong from err alone: a dial that failed or timed out
// ([*UnreachableError]), an untrusted broker certificate, a refused client
// certificate or a connection closed at once ([*TLSError]), a rejected
// password, an unknown mechanism or a SASL exchange on a listener without
// SASL ([*AuthenticationError]), and TOPIC_, GROUP_, CLUSTER_ and
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED ([*AuthorizationError], with no
// resource name: see [Named]). The typed error wraps err, so the original
// context stays in the message and errors.Is still finds kerr codes.
//
// An error already classified, or not recognized, is returned unchanged,
// as is nil.
func Classify(err error) error {
	if c, ok := classify(err); ok {
		return c
	}
	return err
}

// classify returns the typed error for err and true, or false when err is
// nil, already classified or not recognized.
func classify(err error) (error, bool) {
	if err == nil || isClassified(err) || errors.Is(err, context.Canceled) {
		return nil, false
	}
	authz := func(r Resource) (error, bool) { return &AuthorizationError{Resource: r, Err: err}, true }
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return &AuthenticationError{Problem: WrongCredentials, Err: err}, true
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return &AuthenticationError{Problem: MechanismNotOffered, Err: err}, true
	case errors.Is(err, kerr.IllegalSaslState):
		return &AuthenticationError{Problem: SASLNotExpected, Err: err}, true
	case errors.Is(err, kerr.TopicAuthorizationFailed):
		return authz(ResourceTopic)
	case errors.Is(err, kerr.GroupAuthorizationFailed):
		return authz(ResourceGroup)
	case errors.Is(err, kerr.ClusterAuthorizationFailed):
		return authz(ResourceCluster)
	case errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
		return authz(ResourceTransactionalID)
	}
	if p := tlsProblem(err); p != 0 {
		return &TLSError{Problem: p, Err: err}, true
	}
	if addr, ok := unreachable(err); ok {
		return &UnreachableError{Addr: addr, Err: err}, true
	}
	return nil, false
}

// Named names the resource in an authorization failure: when err is
// TOPIC_, GROUP_ or TRANSACTIONAL_ID_AUTHORIZATION_FAILED for a resource of
// kind r (or, for topics, UNKNOWN_TOPIC_OR_PARTITION), it returns an
// [*AuthorizationError] (a [*MissingTopicError]) naming it. Any other error
// is returned unchanged, to be classified where the client's settings are
// known ([Config.Diagnose]) or at the top ([Classify]). Callers that know
// which topic or group a request was about use it, before wrapping the
// error in more context.
func Named(r Resource, name string, err error) error {
	var named *AuthorizationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &named):
		if named.Resource == r && named.Name == "" {
			named.Name = name
		}
		return err
	case isClassified(err):
		return err
	case r == ResourceTopic && errors.Is(err, kerr.UnknownTopicOrPartition):
		return &MissingTopicError{Topic: name}
	}
	if c, ok := classify(err); ok {
		if az, ok := c.(*AuthorizationError); ok && az.Resource == r {
			az.Name = name
			return az
		}
	}
	return err
}

// WithOperation records, in an authorization failure on a resource of kind
// r that err holds, the ACL operation that was missing (DELETE for deleting
// records, WRITE for a producer), so the message names that one instead of
// the usual ones. Any other error is returned unchanged. Call it, like
// [Named], before wrapping the error in more context.
func WithOperation(r Resource, op kmsg.ACLOperation, err error) error {
	var az *AuthorizationError
	if errors.As(err, &az) && az.Resource == r && az.Operation == kmsg.ACLOperationUnknown {
		az.Operation = op
	}
	return err
}

func isClassified(err error) bool {
	var (
		u  *UnreachableError
		t  *TLSError
		an *AuthenticationError
		az *AuthorizationError
		m  *MissingTopicError
	)
	return errors.As(err, &u) || errors.As(err, &t) || errors.As(err, &an) || errors.As(err, &az) || errors.As(err, &m)
}

// TLS alerts a broker sends when it refuses the client's certificate or
// got none: bad_certificate, certificate_unknown, unknown_ca and (TLS 1.3)
// certificate_required.
var clientCertAlerts = map[uint8]bool{42: true, 46: true, 48: true, 116: true}

func tlsProblem(err error) TLSProblem {
	var verify *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &verify), errors.As(err, new(x509.UnknownAuthorityError)),
		errors.As(err, new(x509.HostnameError)), errors.As(err, new(x509.CertificateInvalidError)):
		return UntrustedCertificate
	case errors.As(err, &rh):
		// The broker answered a ClientHello with bytes that are not TLS.
		return PlaintextExpected
	case errors.As(err, new(*kgo.ErrFirstReadEOF)):
		return TLSMismatch
	case errors.As(err, &op) && op.Op == "remote error":
		// crypto/tls reports an alert from the peer as a net.OpError
		// whose Err is its unexported alert type, a uint8.
		if v := reflect.ValueOf(op.Err); v.Kind() == reflect.Uint8 && clientCertAlerts[uint8(v.Uint())] {
			return ClientCertificateRefused
		}
	}
	return 0
}

func unreachable(err error) (addr string, ok bool) {
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		return dns.Name, true
	case errors.As(err, &op) && op.Op == "dial":
		if op.Addr != nil {
			return op.Addr.String(), true
		}
		return "", true
	case errors.Is(err, context.DeadlineExceeded):
		return "", true
	}
	return "", false
}

// Diagnose classifies err as [Classify] does, then adds what only the
// client's settings and a look at the broker can tell (Diagnose err before
// wrapping it: the fields it fills show in the message of the typed error,
// not in a message fmt.Errorf already made of it):
//
//   - for an authentication failure, the mechanism and user c used, and,
//     when the listener does not offer c's mechanism, the mechanisms it
//     does (asked of the first broker with a SASLHandshake, which carries
//     them; franz-go does not pass them on);
//   - for a connection closed at once or another unrecognized error,
//     whether the first broker's listener speaks TLS (a bare TLS
//     handshake, no data sent), which tells TLS-expected from
//     plaintext-expected; a TLS listener closing on a TLS client that
//     offered no certificate wants one; otherwise, for a client without
//     SASL, the listener requires SASL.
//
// Use it on errors of connecting and of the first requests; the probes
// take a couple of seconds and also run for errors it cannot place, so use
// [Classify] for errors of later work.
func (c Config) Diagnose(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	e, recognized := classify(err)
	if !recognized {
		e = err
	}
	var ae *AuthenticationError
	if errors.As(e, &ae) {
		if ae.Mechanism == "" {
			ae.Mechanism = strings.ToUpper(c.SASLMechanism)
		}
		if ae.User == "" {
			ae.User = c.SASLUser
		}
		if ae.Problem == MechanismNotOffered && ae.Offered == nil {
			ae.Offered, _ = c.offeredMechanisms(ctx)
		}
		return e
	}
	var te *TLSError
	mismatch := errors.As(e, &te) && te.Problem == TLSMismatch
	if !mismatch && (recognized || isClassified(err) || !worthProbing(err)) {
		return e
	}
	speaksTLS, known := c.listenerSpeaksTLS(ctx)
	switch {
	case !known:
	case speaksTLS && !c.usesTLS():
		return &TLSError{Problem: TLSExpected, Err: err}
	case !speaksTLS && c.usesTLS():
		return &TLSError{Problem: PlaintextExpected, Err: err}
	case mismatch && c.CertFile == "" && c.usesTLS():
		// A TLS listener that closes the connection right after the
		// handshake, when the client offered no certificate, wants one
		// (some brokers send no alert, just close).
		return &TLSError{Problem: ClientCertificateRefused, Err: err}
	case mismatch && c.SASLMechanism == "":
		return &AuthenticationError{Problem: SASLRequired, Err: err}
	}
	return e
}

// worthProbing says whether an unrecognized error may come from the
// connection itself rather than from a request Kafka answered.
func worthProbing(err error) bool {
	var ke *kerr.Error
	var ce *ConfigError
	return !errors.As(err, &ke) && !errors.As(err, &ce) && !errors.Is(err, context.Canceled)
}

// probeTimeout bounds each probe. A TLS server answers a ClientHello at
// once; a plaintext Kafka listener closes the connection (the hello's first
// bytes read as an impossible request size) or, like kfake, waits for more.
const probeTimeout = 2 * time.Second

// listenerSpeaksTLS dials the first seed broker and starts a TLS handshake
// without verifying anything, only to learn whether the listener speaks
// TLS: a completed handshake or a TLS alert means it does; a closed
// connection, non-TLS bytes or silence for probeTimeout mean it does not.
// known is false when the broker could not be dialed or ctx ended.
func (c Config) listenerSpeaksTLS(ctx context.Context) (speaksTLS, known bool) {
	if len(c.Brokers) == 0 || ctx.Err() != nil {
		return false, false
	}
	dctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(dctx, "tcp", c.Brokers[0])
	if err != nil {
		return false, false
	}
	defer raw.Close()
	hctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	// Nothing is sent over this connection but the handshake, so not
	// verifying the broker's certificate exposes nothing.
	conn := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // protocol probe only
	err = conn.HandshakeContext(hctx)
	var op *net.OpError
	switch {
	case err == nil, errors.As(err, &op) && op.Op == "remote error":
		return true, true
	case ctx.Err() != nil:
		return false, false
	}
	return false, true
}

// probeMechanism is a SASL mechanism no broker offers: a handshake naming
// it is always answered with the list of those the listener enables.
const probeMechanism = "SLUICE-PROBE"

// offeredMechanisms asks the first broker which SASL mechanisms its
// listener enables: a SASLHandshake naming probeMechanism is answered with
// UNSUPPORTED_SASL_MECHANISM and the list.
func (c Config) offeredMechanisms(ctx context.Context) ([]string, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.RequestRetries(1)}
	if c.usesTLS() {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Mechanism = probeMechanism
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	return resp.SupportedMechanisms, nil
}
