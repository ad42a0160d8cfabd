package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/faults"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules"
)

const (
	faultsPath         = "/v1/faults"
	internalFaultsPath = "/internal/v1/faults"
)

// faultRoutes let an admin make calls to a module misbehave on purpose,
// at run time: in this process and in every process of the layout it
// reaches, so that the calls between them misbehave too.
func (a *App) faultRoutes() []web.Route {
	return []web.Route{
		{Method: http.MethodGet, Path: faultsPath, Access: web.Admin, Handler: a.listFaults},
		{Method: http.MethodPut, Path: faultsPath + "/:module", Access: web.Admin, Handler: a.setFaults},
		{Method: http.MethodPut, Path: internalFaultsPath + "/:module", Access: web.Internal, Handler: a.setOwnFaults},
	}
}

// FaultSet is the faults of every module, as this process makes them.
type FaultSet struct {
	Modules map[modules.Module]faults.Spec `json:"modules"`
}

// FaultsApplied is the answer to a change: the faults now set, and each
// process of the layout that was told, with whether it took them.
type FaultsApplied struct {
	Module    modules.Module  `json:"module"`
	Faults    faults.Spec     `json:"faults"`
	Processes []FaultsProcess `json:"processes"`
}

// FaultsProcess is one process told of a change.
type FaultsProcess struct {
	URL     string `json:"url"` // "" for the process asked
	Applied bool   `json:"applied"`
	Detail  string `json:"detail,omitempty"`
}

func (a *App) listFaults(c *gin.Context) {
	set := FaultSet{Modules: map[modules.Module]faults.Spec{}}
	for _, m := range modules.All() {
		set.Modules[m] = a.faults.Get(string(m))
	}
	c.JSON(http.StatusOK, set)
}

func (a *App) setFaults(c *gin.Context) {
	m, spec, err := faultInput(c)
	if err == nil {
		var out FaultsApplied
		if out, err = a.applyFaults(c.Request.Context(), m, spec); err == nil {
			c.JSON(http.StatusOK, out)
			return
		}
	}
	web.Error(c, err)
}

// setOwnFaults is a peer's edge passing a change on.
func (a *App) setOwnFaults(c *gin.Context) {
	m, spec, err := faultInput(c)
	if err == nil {
		err = a.setOwn(m, spec)
	}
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, FaultsApplied{Module: m, Faults: spec, Processes: []FaultsProcess{{Applied: true}}})
}

// faultInput reads the module and the faults of a request.
func faultInput(c *gin.Context) (modules.Module, faults.Spec, error) {
	m, err := modules.Parse(c.Param("module"))
	if err != nil {
		return "", faults.Spec{}, errs.Of(errs.NotFound, err.Error())
	}
	var spec faults.Spec
	if err := web.Decode(c, &spec); err != nil {
		return "", faults.Spec{}, err
	}
	return m, spec, nil
}

// applyFaults sets the faults of calls to m here and in every process of
// the layout this one reaches, and says which took them.
func (a *App) applyFaults(ctx context.Context, m modules.Module, spec faults.Spec) (FaultsApplied, error) {
	if err := a.setOwn(m, spec); err != nil {
		return FaultsApplied{}, err
	}
	out := FaultsApplied{Module: m, Faults: spec, Processes: []FaultsProcess{{Applied: true}}}
	for _, peer := range a.peers() {
		p := FaultsProcess{URL: peer, Applied: true}
		if err := a.tellFaults(ctx, peer, m, spec); err != nil {
			p.Applied, p.Detail = false, err.Error()
		}
		out.Processes = append(out.Processes, p)
	}
	return out, nil
}

// setOwn sets the faults of calls to m in this process.
func (a *App) setOwn(m modules.Module, spec faults.Spec) error {
	if err := a.faults.Set(string(m), spec); err != nil {
		return err
	}
	a.log.Warn("faults set on calls to a module", "module", m, "faults", spec)
	return nil
}

// tellFaults passes a change on to one peer process.
func (a *App) tellFaults(ctx context.Context, peer string, m modules.Module, spec faults.Spec) error {
	body, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, peer+internalFaultsPath+"/"+string(m), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(auth.ServiceTokenHeader, a.cfg.ServiceToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}
