"""Every fault switch the fault matrix uses, on each of the four simulated APIs of issue 18, over real HTTP:
429 with Retry-After, 5xx, 401 in the middle of polling, an expired result, a cut body and a slow body."""

from __future__ import annotations

import time

import httpx
import pytest

from local.simulator import Simulator
from tests.local.simulator.drivers import DRIVERS, Driver

pytestmark = pytest.mark.integration
BY_NAME = pytest.mark.parametrize("driver", DRIVERS, ids=[d.api for d in DRIVERS])


@BY_NAME
def test_a_429_on_the_status_call_carries_the_injected_retry_after(simulator: Simulator, driver: Driver) -> None:
    started = driver.start(simulator)
    simulator.inject(driver.status_route, status=429, retry_after=7)
    throttled = driver.poll(started)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert driver.poll(started).status_code in (200, 202)  # one fault, then the job is there as before


@BY_NAME
@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_on_the_status_call_is_answered_in_the_apis_envelope(
    simulator: Simulator, driver: Driver, status: int
) -> None:
    started = driver.start(simulator)
    simulator.inject(driver.status_route, status=status)
    failed = driver.poll(started)
    assert failed.status_code == status
    assert failed.json()  # a JSON error envelope, not an empty answer
    assert driver.finish(simulator, started)


@BY_NAME
def test_a_401_in_the_middle_of_polling_then_the_job_goes_on(simulator: Simulator, driver: Driver) -> None:
    started = driver.start(simulator)
    assert driver.poll(started).status_code in (200, 202)
    simulator.inject(driver.status_route, status=401)
    assert driver.poll(started).status_code == 401
    assert driver.finish(simulator, started)
    assert [r.status for r in simulator.stats.requests_for(driver.status_route)].count(401) == 1


@BY_NAME
def test_an_expired_result_is_refused(simulator: Simulator, driver: Driver) -> None:
    started = driver.start(simulator)
    url = driver.finish(simulator, started)
    assert driver.download(url, started).status_code == 200
    simulator.expire(started.job_id)
    refused = driver.download(url, started)
    assert refused.status_code in (403, 404)  # a SAS past its expiry is 403; an API's own result, 404


@BY_NAME
def test_a_cut_body_ends_before_its_length(simulator: Simulator, driver: Driver) -> None:
    simulator.config.content_size = 50_000
    simulator.config.salesforce_records = simulator.config.salesforce_page_records = 400
    started = driver.start(simulator)
    url = driver.finish(simulator, started)
    simulator.inject(driver.download_route, drop_after_bytes=1000)
    with pytest.raises(httpx.RemoteProtocolError):
        driver.download(url, started)
    whole = driver.download(url, started)  # the fault was for one request
    assert whole.status_code == 200
    assert len(whole.content) > 1000


@BY_NAME
def test_a_slow_body_takes_its_time(simulator: Simulator, driver: Driver) -> None:
    simulator.config.content_size = 20_000
    simulator.config.salesforce_records = simulator.config.salesforce_page_records = 2000
    simulator.config.chunk_size = 250
    started = driver.start(simulator)
    url = driver.finish(simulator, started)
    simulator.config.content_bytes_per_s = 25_000  # a pause of 0.01 s after each 250-byte chunk
    began = time.monotonic()
    response = driver.download(url, started)
    elapsed = time.monotonic() - began
    assert response.status_code == 200
    chunks = response.num_bytes_downloaded // 250  # as sent: a zip or a gzip-encoded page is smaller than its text
    assert chunks >= 4
    assert elapsed >= 0.9 * chunks * 0.01
