/* cri/grpc_status.c - the one mapping from kumo error statuses to gRPC status codes. */
#include <grpc/status.h>

#include "cri/cri.h"
#include "cri/downstream.h"

int cri_grpc_code(int kumo_status)
{
	/* The downstream runtime's own code, passed on as it gave it. */
	int ds = cri_downstream_grpc_code(kumo_status);
	if (ds >= 0)
		return ds;
	switch (kumo_status) {
	case 0:
		return GRPC_STATUS_OK;
	case KUMO_E_INTERNAL:
		return GRPC_STATUS_INTERNAL;
	case KUMO_E_INVALID:
		return GRPC_STATUS_INVALID_ARGUMENT;
	case KUMO_E_NOT_FOUND:
		return GRPC_STATUS_NOT_FOUND;
	case KUMO_E_EXISTS:
		return GRPC_STATUS_ALREADY_EXISTS;
	case KUMO_E_UNSUPPORTED:
		return GRPC_STATUS_UNIMPLEMENTED;
	case KUMO_E_IO:
		return GRPC_STATUS_UNAVAILABLE; /* mostly network fetches: worth a retry */
	case KUMO_E_PERMISSION:
		return GRPC_STATUS_PERMISSION_DENIED;
	case KUMO_E_UNAVAILABLE:
		return GRPC_STATUS_UNAVAILABLE;
	case KUMO_E_PRECONDITION:
		return GRPC_STATUS_FAILED_PRECONDITION;
	case CRI_E_DEADLINE:
		return GRPC_STATUS_DEADLINE_EXCEEDED;
	default:
		return GRPC_STATUS_UNKNOWN;
	}
}
