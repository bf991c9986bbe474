"""google.cloud.scheduler.v1.CloudScheduler on the wire, with a scheduler that really fires.

RPCs: CreateJob, GetJob, ListJobs, UpdateJob, DeleteJob, PauseJob, ResumeJob, RunJob. Each unpacks
its request and calls one :class:`~thothctl.emulator.scheduler.model.SchedulerModel` method; the
:class:`~thothctl.emulator.scheduler.executor.Executor` fires jobs (on its clock, on RunJob, or on
the control op ``scheduler_tick``). RunJob returns the job as it was (dispatch is asynchronous),
also for a PAUSED job, which stays PAUSED. Rules and choices: docs/emulator.md, "Cloud Scheduler".

Control ops: ``scheduler_tick`` ({"at": epoch seconds or RFC 3339}) fires what is due at that
instant; ``scheduler_config`` ({"time_scale": 0.01, "auto": false}) scales deadlines and backoffs
down and turns the clock off; ``scheduler_running`` lists the executions in flight.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.cloud.scheduler_v1 import types
from google.protobuf import empty_pb2

from thothctl.emulator import base
from thothctl.emulator.base import EmulatedService, rpc
from thothctl.emulator.scheduler.executor import Executor
from thothctl.emulator.scheduler.model import SchedulerModel, copy_job


class SchedulerService(EmulatedService):
    service_name = "google.cloud.scheduler.v1.CloudScheduler"
    api = "cloudscheduler.googleapis.com"
    api_title = "Cloud Scheduler API"
    stored_types = (types.Job,)

    def __init__(self, emulator):
        super().__init__(emulator)
        self.model = SchedulerModel(emulator)
        self.executor = Executor(emulator)

    def on_start(self) -> None:
        self.executor.start()

    def on_stop(self) -> None:
        self.executor.stop()

    # --- RPCs ------------------------------------------------------------------------------
    @rpc(
        "CreateJob",
        types.CreateJobRequest,
        types.Job,
        mutating=True,
        permission="cloudscheduler.jobs.create",
    )
    def create_job(self, request, context):
        return self.model.create_job(request.parent, request.job)

    @rpc("GetJob", types.GetJobRequest, types.Job, permission="cloudscheduler.jobs.get")
    def get_job(self, request, context):
        return copy_job(self.model.get(request.name))

    @rpc(
        "ListJobs",
        types.ListJobsRequest,
        types.ListJobsResponse,
        permission="cloudscheduler.jobs.list",
    )
    def list_jobs(self, request, context):
        jobs = self.model.list_jobs(request.parent)
        page, token = base.paginate(jobs, request, default=500, maximum=500)
        return types.ListJobsResponse(jobs=page, next_page_token=token)

    @rpc(
        "UpdateJob",
        types.UpdateJobRequest,
        types.Job,
        mutating=True,
        permission="cloudscheduler.jobs.update",
    )
    def update_job(self, request, context):
        paths = list(request.update_mask.paths) if "update_mask" in request else []
        return self.model.update_job(request.job, paths)

    @rpc(
        "DeleteJob",
        types.DeleteJobRequest,
        empty_pb2.Empty,
        mutating=True,
        permission="cloudscheduler.jobs.delete",
    )
    def delete_job(self, request, context):
        self.model.delete_job(request.name)
        return empty_pb2.Empty()

    @rpc(
        "PauseJob",
        types.PauseJobRequest,
        types.Job,
        mutating=True,
        permission="cloudscheduler.jobs.pause",
    )
    def pause_job(self, request, context):
        return self.model.pause_job(request.name)

    @rpc(
        "ResumeJob",
        types.ResumeJobRequest,
        types.Job,
        mutating=True,
        permission="cloudscheduler.jobs.enable",
    )
    def resume_job(self, request, context):
        return self.model.resume_job(request.name)

    @rpc(
        "RunJob",
        types.RunJobRequest,
        types.Job,
        mutating=True,
        permission="cloudscheduler.jobs.run",
    )
    def run_job(self, request, context):
        job = self.model.runnable(request.name)
        self.executor.dispatch(job.name, None)
        return copy_job(job)

    # --- control plane ---------------------------------------------------------------------
    def control_ops(self):
        def tick(args: dict[str, Any]) -> list[str]:
            at = args.get("at")
            if at is None:
                when = base.now()
            elif isinstance(at, int | float):
                when = dt.datetime.fromtimestamp(at, dt.UTC)
            else:
                when = dt.datetime.fromisoformat(str(at).replace("Z", "+00:00"))
            return self.executor.tick(when)

        def configure(args: dict[str, Any]) -> dict[str, Any]:
            if "time_scale" in args:
                scale = float(args["time_scale"])
                if not 0 < scale <= 1:
                    raise ValueError("time_scale must be in (0, 1]")
                self.executor.time_scale = scale
            if "auto" in args:
                self.executor.auto = bool(args["auto"])
            return {"time_scale": self.executor.time_scale, "auto": self.executor.auto}

        return {
            "scheduler_tick": tick,
            "scheduler_config": configure,
            "scheduler_running": lambda args: self.executor.running(),
        }


SERVICES = [SchedulerService]
