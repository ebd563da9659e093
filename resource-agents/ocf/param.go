package ocf

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is a parameter's content type as written in the metadata. Only the
// types both ra-api-1.dtd and the OCF 1.1 schema accept are offered.
type Type string

// Parameter content types.
const (
	String  Type = "string"
	Integer Type = "integer"
	Boolean Type = "boolean"
)

// Param declares one OCF_RESKEY_ parameter: its metadata and how its value
// is checked. Check runs after the type check and reports configuration
// errors (exit 6); host-specific checks belong in the agent's Validate.
type Param struct {
	Name       string
	ShortDesc  string
	LongDesc   string
	Type       Type
	Default    string
	Required   bool
	Unique     bool
	Reloadable bool // may change with reload-agent instead of a restart (not advertised: see metadata.go)
	Min, Max   *int // bounds for Integer parameters
	Check      func(string) error
}

// IntRange returns pointers for Param.Min/Max.
func IntRange(lo, hi int) (*int, *int) { return &lo, &hi }

// parseBool accepts the spellings ocf-shellfuncs' ocf_is_true accepts.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on", "y":
		return true, nil
	case "0", "false", "no", "off", "n", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true or false)", v)
}

// check validates a non-empty value against the declared type and bounds.
func (p *Param) check(v string) error {
	switch p.Type {
	case Integer:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		if p.Min != nil && n < *p.Min {
			return fmt.Errorf("%d is below the minimum %d", n, *p.Min)
		}
		if p.Max != nil && n > *p.Max {
			return fmt.Errorf("%d is above the maximum %d", n, *p.Max)
		}
	case Boolean:
		if _, err := parseBool(v); err != nil {
			return err
		}
	}
	if p.Check != nil {
		return p.Check(v)
	}
	return nil
}
