/* tests/apps/app_clocks.c - guest test app: clocks (clock_time_get, clock_res_get) and sleeping (poll_oneoff clock subscriptions). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

static int64_t ns(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *ok(int cond)
{
	return cond ? "ok" : "FAIL";
}

/* poll_oneoff with an absolute deadline, then with no subscriptions. */
static int abstime(void)
{
#ifdef __wasi__
	__wasi_subscription_t sub = {0};
	__wasi_event_t ev;
	__wasi_size_t nev = 0;
	sub.userdata = 333;
	sub.u.tag = __WASI_EVENTTYPE_CLOCK;
	sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	sub.u.u.clock.timeout = (uint64_t)ns(CLOCK_MONOTONIC) + 20 * 1000000ull;
	sub.u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
	int64_t t0 = ns(CLOCK_MONOTONIC);
	__wasi_errno_t e = __wasi_poll_oneoff(&sub, &ev, 1, &nev);
	int64_t slept = ns(CLOCK_MONOTONIC) - t0;
	printf("poll_oneoff absolute: errno %d, events %u, userdata %llu, waited >= 15ms and < 5s: %s\n",
	       e, (unsigned)nev, nev ? (unsigned long long)ev.userdata : 0ull,
	       ok(slept >= 15000000 && slept < 5000000000LL));
	/* An absolute deadline in the past fires at once. */
	sub.u.u.clock.timeout = 1;
	t0 = ns(CLOCK_MONOTONIC);
	e = __wasi_poll_oneoff(&sub, &ev, 1, &nev);
	slept = ns(CLOCK_MONOTONIC) - t0;
	printf("poll_oneoff absolute in the past: errno %d, events %u, returns within 1s: %s\n", e,
	       (unsigned)nev, ok(slept < 1000000000));
	/* No subscriptions is an error, not a hang. */
	e = __wasi_poll_oneoff(&sub, &ev, 0, &nev);
	printf("poll_oneoff with 0 subscriptions: %s\n", e == __WASI_ERRNO_INVAL ? "EINVAL" : "other");
#endif
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "abstime") == 0)
		return abstime();
	struct timespec res;
	int r = clock_getres(CLOCK_MONOTONIC, &res);
	int64_t rns = (int64_t)res.tv_sec * 1000000000 + res.tv_nsec;
	printf("monotonic resolution in (0, 10ms]: %s\n", ok(r == 0 && rns > 0 && rns <= 10000000));
	r = clock_getres(CLOCK_REALTIME, &res);
	rns = (int64_t)res.tv_sec * 1000000000 + res.tv_nsec;
	printf("realtime resolution in (0, 1s]: %s\n", ok(r == 0 && rns > 0 && rns <= 1000000000));

	int64_t m0 = ns(CLOCK_MONOTONIC), prev = m0, backwards = 0;
	for (int i = 0; i < 1000; i++) {
		int64_t t = ns(CLOCK_MONOTONIC);
		if (t < prev)
			backwards++;
		prev = t;
	}
	printf("monotonic never goes back: %s\n", ok(m0 >= 0 && backwards == 0));

	int64_t rt = ns(CLOCK_REALTIME);
	/* 2020-01-01 .. 2100-01-01 */
	printf("realtime is a plausible date: %s\n", ok(rt > 1577836800LL * 1000000000 && rt < 4102444800LL * 1000000000));
	time_t tt = time(NULL);
	printf("time() agrees with realtime: %s\n", ok(tt >= rt / 1000000000 - 1 && tt <= rt / 1000000000 + 2));
	struct timeval tv;
	gettimeofday(&tv, NULL);
	printf("gettimeofday agrees with realtime: %s\n", ok(tv.tv_sec >= rt / 1000000000 - 1 && tv.tv_sec <= rt / 1000000000 + 2));

	/* nanosleep -> poll_oneoff with a relative clock subscription */
	int64_t t0 = ns(CLOCK_MONOTONIC);
	struct timespec req = {0, 50 * 1000000};
	r = nanosleep(&req, NULL);
	int64_t slept = ns(CLOCK_MONOTONIC) - t0;
	printf("nanosleep 50ms returned %d, slept >= 50ms: %s\n", r, ok(slept >= 50000000));
	t0 = ns(CLOCK_MONOTONIC);
	usleep(20000);
	slept = ns(CLOCK_MONOTONIC) - t0;
	printf("usleep 20ms slept >= 20ms: %s\n", ok(slept >= 20000000));
	t0 = ns(CLOCK_MONOTONIC);
	req.tv_nsec = 0;
	nanosleep(&req, NULL);
	printf("nanosleep 0 returns: ok\n");

#ifdef __wasi__
	/* Two clock subscriptions at once: the shorter one fires, with its userdata. */
	__wasi_subscription_t sub[2] = {0};
	__wasi_event_t ev[2];
	__wasi_size_t nev = 0;
	sub[0].userdata = 111;
	sub[0].u.tag = __WASI_EVENTTYPE_CLOCK;
	sub[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	sub[0].u.u.clock.timeout = 10 * 1000000000ull;
	sub[1].userdata = 222;
	sub[1].u.tag = __WASI_EVENTTYPE_CLOCK;
	sub[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	sub[1].u.u.clock.timeout = 30 * 1000000ull;
	t0 = ns(CLOCK_MONOTONIC);
	__wasi_errno_t e = __wasi_poll_oneoff(sub, ev, 2, &nev);
	slept = ns(CLOCK_MONOTONIC) - t0;
	printf("poll_oneoff two clocks: errno %d, events %u, first userdata %llu, type clock %s, error %d\n",
	       e, (unsigned)nev, nev ? (unsigned long long)ev[0].userdata : 0ull,
	       ok(nev && ev[0].type == __WASI_EVENTTYPE_CLOCK), nev ? ev[0].error : -1);
	printf("poll_oneoff slept >= 30ms and < 5s: %s\n", ok(slept >= 30000000 && slept < 5000000000LL));
#endif
	return 0;
}
