package ocf

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// Action is one <action> line of the metadata: Pacemaker and crm/pcs take
// default timeouts and the recommended monitor interval from it.
type Action struct {
	Name     string
	Timeout  time.Duration
	Interval time.Duration // recurring monitor interval
	Depth    int           // monitor OCF_CHECK_LEVEL
	Role     string        // "Promoted"/"Unpromoted" for promotable monitors
}

// The metadata is written against resource-agents' ra-api-1.dtd (what
// ocf-tester and crmsh validate with xmllint --valid) and so also passes the
// OCF 1.1 RelaxNG schema. That DTD knows neither the reload-agent action nor
// the reloadable attribute, so neither is advertised: reload-agent is still
// implemented for agents that provide it.
type xmlDesc struct {
	Lang string `xml:"lang,attr"`
	Text string `xml:",chardata"`
}

type xmlContent struct {
	Type    Type   `xml:"type,attr"`
	Default string `xml:"default,attr,omitempty"`
}

type xmlParam struct {
	Name      string     `xml:"name,attr"`
	Unique    int        `xml:"unique,attr"`
	Required  int        `xml:"required,attr"`
	LongDesc  xmlDesc    `xml:"longdesc"`
	ShortDesc xmlDesc    `xml:"shortdesc"`
	Content   xmlContent `xml:"content"`
}

type xmlAction struct {
	Name     string `xml:"name,attr"`
	Timeout  string `xml:"timeout,attr"`
	Interval string `xml:"interval,attr,omitempty"`
	Depth    string `xml:"depth,attr,omitempty"`
	Role     string `xml:"role,attr,omitempty"`
}

type xmlAgent struct {
	XMLName   xml.Name    `xml:"resource-agent"`
	Name      string      `xml:"name,attr"`
	Version   string      `xml:"version,attr"`
	APIVer    string      `xml:"version"`
	LongDesc  xmlDesc     `xml:"longdesc"`
	ShortDesc xmlDesc     `xml:"shortdesc"`
	Params    []xmlParam  `xml:"parameters>parameter"`
	Actions   []xmlAction `xml:"actions>action"`
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
}

// WriteMetadata writes the agent's meta-data XML.
func (a *Agent) WriteMetadata(w io.Writer) error {
	doc := xmlAgent{
		Name: a.Name, Version: a.Version, APIVer: "1.1",
		LongDesc:  xmlDesc{"en", a.LongDesc},
		ShortDesc: xmlDesc{"en", a.ShortDesc},
	}
	for _, p := range a.Params {
		doc.Params = append(doc.Params, xmlParam{
			Name: p.Name, Unique: b2i(p.Unique), Required: b2i(p.Required),
			LongDesc: xmlDesc{"en", p.LongDesc}, ShortDesc: xmlDesc{"en", p.ShortDesc},
			Content: xmlContent{Type: p.Type, Default: p.Default},
		})
	}
	for _, act := range a.actions() {
		x := xmlAction{Name: act.Name, Timeout: seconds(act.Timeout), Role: act.Role}
		if act.Interval > 0 {
			x.Interval = seconds(act.Interval)
		}
		if act.Name == "monitor" {
			x.Depth = fmt.Sprint(act.Depth)
		}
		doc.Actions = append(doc.Actions, x)
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("meta-data: %w", err)
	}
	_, err = fmt.Fprintf(w, "<?xml version=\"1.0\"?>\n<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">\n%s\n", out)
	return err
}
