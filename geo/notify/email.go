package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"hotspots/geo"
	"hotspots/geo/alerting"
)

// SMTPConfig is how to reach the mail relay.
type SMTPConfig struct {
	// Addr is host:port of the relay.
	Addr string
	// From is the envelope and header sender, e.g. "alerts@health.example".
	From string
	// FromName is the display name; "hotspots alerts" when empty.
	FromName string
	// Username and Password enable PLAIN auth (only over TLS, or to a
	// relay on localhost, as net/smtp enforces).
	Username, Password string
	// RequireTLS refuses relays that do not offer STARTTLS; otherwise TLS
	// is used whenever offered.
	RequireTLS bool
	// TLSConfig overrides the STARTTLS configuration (tests, private CAs).
	TLSConfig *tls.Config
	// Hello is the name sent in EHLO; "localhost" when empty.
	Hello string
	// Timeout bounds one whole send; 30 s when 0.
	Timeout time.Duration
	// Location shows times in the city's zone; nil means UTC.
	Location *time.Location
}

// EmailSender sends alerts as plain-text mail. Mail always carries the
// outreach rendering (areas, counts, window, map link): mailboxes are
// forwarded and archived in ways webhooks are not, so no incident points go
// into them even for analyst subscriptions.
type EmailSender struct {
	Cfg SMTPConfig
	// Now stamps the Date header; nil means time.Now.
	Now func() time.Time
}

// NewEmailSender validates cfg and returns a sender.
func NewEmailSender(cfg SMTPConfig) (*EmailSender, error) {
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("smtp: address %q: %w", cfg.Addr, err)
	}
	if !strings.Contains(cfg.From, "@") {
		return nil, fmt.Errorf("smtp: from %q is not an address", cfg.From)
	}
	return &EmailSender{Cfg: cfg}, nil
}

// Send implements Sender. SMTP 5xx replies are permanent; 4xx replies and
// connection errors are retried.
func (s *EmailSender) Send(ctx context.Context, m Message) error {
	ch, err := channel(m.Job.Subscription, geo.ChannelEmail)
	if err != nil {
		return err
	}
	msg := s.compose(m, ch.To)
	if err := s.deliver(ctx, ch.To, msg); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 {
			return Permanent(fmt.Errorf("smtp: %w", err))
		}
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

func (s *EmailSender) deliver(ctx context.Context, to []string, msg []byte) error {
	timeout := s.Cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Cfg.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	if err := conn.SetDeadline(dl); err != nil {
		return err
	}
	// Cancelling ctx unblocks the protocol exchange.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	host, _, _ := net.SplitHostPort(s.Cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	hello := s.Cfg.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := s.Cfg.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tc); err != nil {
			return err
		}
	} else if s.Cfg.RequireTLS {
		return Permanent(errors.New("relay does not offer STARTTLS and TLS is required"))
	}
	if s.Cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Cfg.Username, s.Cfg.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.Cfg.From); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// compose builds the RFC 5322 message. Its Message-ID is derived from the
// idempotency key, so mail clients fold a re-sent copy into the first.
func (s *EmailSender) compose(m Message, to []string) []byte {
	v := m.Outreach
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	name := s.Cfg.FromName
	if name == "" {
		name = "hotspots alerts"
	}
	domain := s.Cfg.From[strings.LastIndex(s.Cfg.From, "@")+1:]
	subject := fmt.Sprintf("[%s] %s", strings.ToUpper(strings.ReplaceAll(string(v.Severity), "_", " ")), v.Title)
	if m.Payload.Type == EventName(geo.EventUpdated) {
		subject = "Update: " + subject
	}
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", mime.QEncoding.Encode("utf-8", name)+" <"+s.Cfg.From+">")
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+strings.NewReplacer("/", ".", ":", ".").Replace(m.Payload.ID)+"@"+domain+">")
	hdr("X-Hotspots-Idempotency-Key", m.Payload.ID)
	hdr("X-Hotspots-Event", m.Payload.Type)
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	loc := s.Cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	_, _ = qp.Write([]byte(strings.ReplaceAll(emailBody(v, m.Job.Subscription, loc), "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

// emailBody is the plain-text rendering of an outreach view.
func emailBody(v alerting.OutreachView, sub geo.Subscription, loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", v.Title)
	fmt.Fprintf(&b, "Severity:  %s\n", strings.ReplaceAll(string(v.Severity), "_", " "))
	fmt.Fprintf(&b, "Status:    %s (revision %d)\n", v.Status, v.Revision)
	fmt.Fprintf(&b, "Cases:     %d", v.Count)
	if v.Threshold > 0 {
		fmt.Fprintf(&b, " (threshold %d)", v.Threshold)
	} else if v.Expected > 0 {
		fmt.Fprintf(&b, " (%.1f expected)", v.Expected)
	}
	fmt.Fprintf(&b, "\nWindow:    %s to %s\n", v.WindowFrom.In(loc).Format("Mon 2 Jan 15:04"), v.WindowTo.In(loc).Format("Mon 2 Jan 15:04 MST"))
	if len(v.Areas) > 0 {
		names := make([]string, len(v.Areas))
		for i, a := range v.Areas {
			names[i] = a.Name
		}
		fmt.Fprintf(&b, "Areas:     %s\n", strings.Join(names, ", "))
	}
	if len(v.Cells) > 0 {
		fmt.Fprintf(&b, "H3 cells:  %s (resolution %d)\n", strings.Join(v.Cells, " "), v.CellRes)
	}
	if v.MapURL != "" {
		fmt.Fprintf(&b, "Map:       %s\n", v.MapURL)
	}
	fmt.Fprintf(&b, "\nYou receive this because of the subscription %q of team %s.\n", sub.Name, sub.Team)
	return b.String()
}
