package sipd

import (
	"fmt"
	"net"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Dialog is one leg's dialog state (RFC 3261 12), owned by the PBX rather
// than by sipgo so that it can be persisted and restored, and in-dialog
// requests (ACK, BYE, re-INVITE, CANCEL, INFO, UPDATE) are built from it alone.
type Dialog struct {
	CallID       string
	LocalTag     string
	RemoteTag    string
	LocalURI     string // our From (UAC leg) or To (UAS leg) address
	RemoteURI    string
	LocalCSeq    uint32   // last CSeq we sent
	RemoteCSeq   uint32   // last CSeq received from the peer
	RemoteTarget string   // the peer's Contact URI
	RouteSet     []string // Route URIs, in the order to send them
	Transport    string   // UDP or TCP
	Peer         string   // host:port the peer sends from; we send there (NAT)
	LocalSDP     []byte   // last description we sent on this leg
	RemoteSDP    []byte   // last description the peer sent
	InviteCSeq   uint32   // CSeq of the INVITE that created or last re-offered (for ACK)
}

// uasDialog is the dialog a received INVITE creates on our answering side.
func uasDialog(req *sip.Request, localTag string) Dialog {
	d := Dialog{
		CallID:     req.CallID().Value(),
		LocalTag:   localTag,
		RemoteCSeq: req.CSeq().SeqNo,
		LocalURI:   req.To().Address.String(),
		RemoteURI:  req.From().Address.String(),
		Transport:  req.Transport(),
		Peer:       req.Source(),
		RemoteSDP:  req.Body(),
		LocalCSeq:  1,
	}
	d.RemoteTag, _ = req.From().Params.Get("tag")
	if c := req.Contact(); c != nil {
		d.RemoteTarget = c.Address.String()
	}
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			d.RouteSet = append(d.RouteSet, rr.Address.String())
		}
	}
	return d
}

// confirm completes a UAC dialog from the response that established it.
func (d *Dialog) confirm(res *sip.Response) {
	d.RemoteTag, _ = res.To().Params.Get("tag")
	if c := res.Contact(); c != nil {
		d.RemoteTarget = c.Address.String()
	}
	d.RouteSet = d.RouteSet[:0]
	rrs := res.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		if rr, ok := rrs[i].(*sip.RecordRouteHeader); ok {
			d.RouteSet = append(d.RouteSet, rr.Address.String())
		}
	}
	if len(res.Body()) > 0 {
		d.RemoteSDP = res.Body()
	}
}

// matches reports whether an in-dialog request belongs to d.
func (d *Dialog) matches(req *sip.Request) bool {
	from, _ := req.From().Params.Get("tag")
	to, _ := req.To().Params.Get("tag")
	return req.CallID().Value() == d.CallID && from == d.RemoteTag && to == d.LocalTag
}

// endpoint is the PBX's own address as it appears in Via and Contact.
type endpoint struct {
	ip   net.IP
	port int
}

func (e endpoint) contact() *sip.ContactHeader {
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: e.ip.String(), Port: e.port}}
}

// request builds an in-dialog request with a fresh CSeq (or cseq when it is
// non-zero: ACK and CANCEL reuse the INVITE's number) and an SDP body.
func (d *Dialog) request(ep endpoint, method sip.RequestMethod, cseq uint32, body []byte) (*sip.Request, error) {
	return d.requestWith(ep, method, cseq, "application/sdp", body)
}

// requestWith is request with a body of Content-Type ctype. Target refresh
// requests (INVITE, UPDATE) carry our Contact.
func (d *Dialog) requestWith(ep endpoint, method sip.RequestMethod, cseq uint32, ctype string, body []byte) (*sip.Request, error) {
	var target sip.Uri
	if err := sip.ParseUri(d.RemoteTarget, &target); err != nil {
		return nil, fmt.Errorf("%s: remote target %q: %w", method, d.RemoteTarget, err)
	}
	if cseq == 0 {
		d.LocalCSeq++
		cseq = d.LocalCSeq
	}
	req := sip.NewRequest(method, target)
	req.AppendHeader(ep.via(d.Transport))
	for _, r := range d.RouteSet {
		var u sip.Uri
		if err := sip.ParseUri(r, &u); err != nil {
			return nil, fmt.Errorf("%s: route %q: %w", method, r, err)
		}
		req.AppendHeader(&sip.RouteHeader{Address: u})
	}
	from, err := addressHeader(d.LocalURI, d.LocalTag)
	if err != nil {
		return nil, fmt.Errorf("%s: local uri: %w", method, err)
	}
	to, err := addressHeader(d.RemoteURI, d.RemoteTag)
	if err != nil {
		return nil, fmt.Errorf("%s: remote uri: %w", method, err)
	}
	req.AppendHeader(&sip.FromHeader{Address: from.Address, Params: from.Params})
	req.AppendHeader(&sip.ToHeader{Address: to.Address, Params: to.Params})
	cid := sip.CallIDHeader(d.CallID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	if method == sip.INVITE || method == sip.UPDATE {
		req.AppendHeader(ep.contact())
	}
	if method == sip.INVITE {
		req.AppendHeader(sip.NewHeader("Allow", allow)) // phones send UPDATE only to peers that allow it
	}
	setContent(req, ctype, body)
	d.route(req, ep)
	return req, nil
}

// route makes req leave from our listening socket towards the peer's
// source address (symmetric signalling through NAT), or its first route.
func (d *Dialog) route(req *sip.Request, ep endpoint) {
	if len(d.RouteSet) == 0 && d.Peer != "" {
		req.SetDestination(d.Peer)
	}
	req.SetTransport(d.Transport)
	if d.Transport == "UDP" {
		req.Laddr = sip.Addr{IP: ep.ip, Port: ep.port}
	}
}

func (e endpoint) via(transport string) *sip.ViaHeader {
	p := sip.NewParams()
	p.Add("branch", sip.GenerateBranch())
	p.Add("rport", "")
	return &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: transport,
		Host: e.ip.String(), Port: e.port, Params: p}
}

type tagged struct {
	Address sip.Uri
	Params  sip.HeaderParams
}

func addressHeader(uri, tag string) (tagged, error) {
	var t tagged
	if err := sip.ParseUri(uri, &t.Address); err != nil {
		return t, err
	}
	t.Params = sip.NewParams()
	if tag != "" {
		t.Params.Add("tag", tag)
	}
	return t, nil
}

func setBody(m sip.Message, body []byte) { setContent(m, "application/sdp", body) }

// setContent sets m's body and, when there is one, its Content-Type.
func setContent(m sip.Message, ctype string, body []byte) {
	if len(body) > 0 {
		ct := sip.ContentTypeHeader(ctype)
		m.AppendHeader(&ct)
	}
	m.SetBody(body)
}

// cancelFor builds the CANCEL of a pending INVITE (RFC 3261 9.1): same
// Request-URI, top Via, Call-ID, From, To, Route and CSeq number.
func cancelFor(inv *sip.Request) *sip.Request {
	c := sip.NewRequest(sip.CANCEL, inv.Recipient)
	c.AppendHeader(inv.Via().Clone())
	for _, h := range inv.GetHeaders("Route") {
		c.AppendHeader(sip.HeaderClone(h))
	}
	c.AppendHeader(sip.HeaderClone(inv.From()))
	c.AppendHeader(sip.HeaderClone(inv.To()))
	c.AppendHeader(sip.HeaderClone(inv.CallID()))
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	c.SetBody(nil)
	c.SetDestination(inv.Destination())
	c.SetTransport(inv.Transport())
	c.Laddr = inv.Laddr
	return c
}

// prebuilt tells sipgo's client to send a request exactly as we built it.
func prebuilt(*sipgo.Client, *sip.Request) error { return nil }
