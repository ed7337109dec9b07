package workflows

import (
	"sync"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/journeyshq/journeys/messages"
)

// WorkerOptions are the options every journeys worker runs with.
//
// Workflow task pollers autoscale. With the SDK's fixed two pollers, a
// worker whose sticky queue has a backlog sends every poll there, and the
// first task of a new journey (a signup) waits on the normal queue behind
// it, as the throughput benchmark (bench/) showed. Autoscaling keeps
// pollers on both.
func WorkerOptions() worker.Options {
	return worker.Options{
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
	}
}

// Channels are the channels whose activities run on a task queue of their
// own (ActivityTaskQueue), in a fixed order.
var Channels = []messages.Channel{
	messages.ChannelEmail, messages.ChannelSMS, messages.ChannelAlert, messages.ChannelCRM, messages.ChannelBilling,
}

// ActivityTaskQueue is the task queue of channel ch's activities. Each
// vendor gets its own queue so that its rate limit holds across the whole
// fleet: Temporal's matching service hands out at most the queue's
// TaskQueueActivitiesPerSecond, however many workers poll it.
func ActivityTaskQueue(ch messages.Channel) string { return TaskQueue + "-" + string(ch) }

// Rates are activities per second across the fleet, by channel; 0 or
// absent means no limit.
type Rates map[messages.Channel]float64

// DefaultRates stay within the vendors' documented limits with one account
// each: Twilio sends 1 message per second from a long code (a messaging
// service with more numbers allows more), Slack's chat.postMessage about 1
// per second per channel, HubSpot's private apps 100 requests per 10 s (an
// update is up to two requests). SendGrid's mail send has no per-second
// limit worth naming; 50 spreads a burst. Billing is your own API.
func DefaultRates() Rates {
	return Rates{
		messages.ChannelEmail:   50,
		messages.ChannelSMS:     1,
		messages.ChannelAlert:   1,
		messages.ChannelCRM:     5,
		messages.ChannelBilling: 10,
	}
}

// Workers are the workers one journeys process runs: CustomerJourney on
// TaskQueue, and one activity worker per channel's queue.
type Workers []worker.Worker

// NewWorkers makes the workers for j, with acts (an *activities.Activities)
// on every channel's queue. opts applies to each; rates sets each vendor
// queue's fleet-wide rate.
func NewWorkers(c client.Client, j *Journeys, acts any, rates Rates, opts worker.Options) Workers {
	w := worker.New(c, TaskQueue, opts)
	w.RegisterWorkflowWithOptions(j.CustomerJourney, RegisterOptions)
	ws := Workers{w}
	for _, ch := range Channels {
		o := opts
		o.TaskQueueActivitiesPerSecond = rates[ch]
		vw := worker.New(c, ActivityTaskQueue(ch), o)
		vw.RegisterActivity(acts) // a worker without workflows polls activities only
		ws = append(ws, vw)
	}
	return ws
}

// Start starts every worker; if one fails, those started are stopped.
func (ws Workers) Start() error {
	for i, w := range ws {
		if err := w.Start(); err != nil {
			ws[:i].Stop()
			return err
		}
	}
	return nil
}

// Stop stops the activity workers first, all at once so that each gets
// its whole WorkerStopTimeout for the activities it runs, and the journeys'
// worker (ws[0]) last. Its workflows thus take in the outcome of every
// activity that finishes during the stop: a workflow worker already
// stopping drops the workflow task a completion brings, and the journey
// waits out the task's 10 s timeout, unable to answer queries.
func (ws Workers) Stop() {
	if len(ws) == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, w := range ws[1:] {
		wg.Go(w.Stop)
	}
	wg.Wait()
	ws[0].Stop()
}
