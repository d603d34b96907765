// The Responses API's reply format (see reply_format.h): the Response object, and when streaming its typed SSE
// events (`event: <type>` and `data: {..., "sequence_number"}`), built from the same ReplySplitter deltas as a chat
// reply. Output items: a reasoning item (the <think> text as reasoning_text content), a message item (output_text),
// one function_call item per parsed tool call. The streamed response.completed carries the same Response as the
// non-streamed body, since both come from one state machine.
#pragma once

#include <memory>

#include "server/reply_format.h"
#include "server/responses_request.h"

namespace hotrod::server {

std::unique_ptr<ReplyFormat> make_responses_format(const ReplySetup& setup, const ResponsesEcho& echo,
                                                   const sample::SamplingParams& sampling);

}  // namespace hotrod::server
